/**
 * Issue 16 through the command: hot buckets (100 000 identical documents
 * cluster in seconds: a self-join would list 5 * 10^9 pairs), --max-pairs
 * (pairs-csv refused before the join, with the count), determinism (the
 * same bytes for clusters, pairs and keep list on 1, 2, 3 and 5 threads and
 * at every SIMD level), the representative rule, and degenerate documents
 * (empty ones skipped, one-word and repeated-word documents, a corpus
 * without near-duplicates, a single document).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import { clustersOf, launcher, randomWords, temporaryDirectory, withChanges } from './fixtures/cli.ts';
import { generator } from './fixtures/helpers.ts';

function dedup(args: readonly string[], env: Record<string, string> = {}): { status: number | null; stdout: string;
  stderr: string } {
  const child = spawnSync(process.execPath, [launcher, 'dedup', ...args], {
    encoding: 'utf8', timeout: 180_000, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

const jsonl = (texts: readonly string[]): string => texts.map((text) => `${JSON.stringify({ text })}\n`).join('');

describe('knowhere-rs dedup: hot buckets, determinism, degenerate documents (issue 16)', function () {
  this.timeout(300_000);
  let dir = '';
  before(() => { dir = temporaryDirectory(); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('100 000 identical documents make one cluster, kept as the first, in both modes', () => {
    const input = path.join(dir, 'identical.jsonl');
    const text = 'Dear customer, your parcel has been dispatched and will arrive within three working days.';
    fs.writeFileSync(input, jsonl([...Array.from({ length: 100_000 }, () => text), 'something else entirely here']));
    for (const mode of ['cover', 'components']) {
      const keep = path.join(dir, `keep-${mode}.txt`);
      // --timeout is a generous bound, not a measurement (a few seconds here;
      // listing the 5 * 10^9 pairs, as this did before, never ends).
      const child = dedup(['--jsonl', input, '--clusters', mode, '--keep-first', keep, '--timeout', '120']);
      expect(child.status, child.stderr).to.equal(0);
      const clusters = clustersOf(child.stdout);
      expect(clusters.length).to.equal(1);
      expect(clusters[0]!.representative.index).to.equal(0);
      expect(clusters[0]!.size).to.equal(100_000);
      expect(clusters[0]!.members.every((m, i) => m.index === i && m.similarity === 1)).to.equal(true);
      expect(fs.readFileSync(keep, 'utf8')).to.equal(`${input}:1\n${input}:100001\n`);
    }
  });

  it('--format pairs-csv stops before the join above --max-pairs, saying how many pairs there would be', () => {
    const input = path.join(dir, 'thousand.jsonl');
    fs.writeFileSync(input, jsonl(Array.from({ length: 1000 }, () => 'the same little notice, again and again')));
    const output = path.join(dir, 'pairs.csv');
    const refused = dedup(['--jsonl', input, '--format', 'pairs-csv', '--max-pairs', '100000', '-o', output]);
    expect(refused.status, refused.stderr).to.equal(1);
    const about = /--format pairs-csv would list about (\d+) pairs, more than --max-pairs 100000; the default --format clusters-jsonl \(or --keep-first\) groups them without listing them, or raise --max-pairs; no output written/
      .exec(refused.stderr);
    expect(about, refused.stderr).to.not.equal(null);
    expect(Number(about![1])).to.be.within(499_500 * 0.9, 499_500 * 1.1); // C(1000, 2), estimated
    expect(refused.stderr).to.not.match(/joining: \d+ pairs/);
    expect(fs.existsSync(output)).to.equal(false);
    const listed = dedup(['--jsonl', input, '--format', 'pairs-csv', '--max-pairs', '1000000', '-o', output, '-q']);
    expect(listed.status, listed.stderr).to.equal(0);
    expect(fs.readFileSync(output, 'utf8').split('\n').length).to.equal(1 + 499_500 + 1);
    const usage = dedup(['--jsonl', input, '--max-pairs', '5']);
    expect(usage.status).to.equal(2);
    expect(usage.stderr).to.match(/--max-pairs needs --format pairs-csv/);
  });

  it('gives the same bytes on 1, 2, 3 and 5 threads and at every SIMD level (clusters, keep list, pairs)', () => {
    const next = generator(16);
    const texts: string[] = [];
    const hot = 'Unsubscribe here to stop receiving these messages from our partners.';
    for (let family = 0; family < 150; family++) {
      const base = randomWords(next, 40 + (next() % 60));
      texts.push(base.join(' '));
      for (let copy = 0; copy < 1 + (next() % 4); copy++) texts.push(withChanges(base, next() % 6).join(' '));
      if (family % 10 === 0) texts.push(base.join('  ').toUpperCase()); // case and spaces only
      for (let h = 0; h < 3; h++) texts.push(hot);
    }
    for (let i = 0; i < 300; i++) texts.push(randomWords(next, 30).join(' '));
    texts.push('Ünïcödé ÇAFÉ naïve', 'ünïcödé café NAÏVE', 'one', 'one', 'la la la la', 'la la la la la la');
    const input = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(input, jsonl(texts));
    const runs: { label: string; threads: string; env: Record<string, string> }[] = [
      ...['1', '2', '3', '5'].map((threads) => ({ label: `${threads} threads`, threads, env: {} })),
      ...['scalar', 'avx2'].map((simd) => ({ label: `SIMD ${simd}`, threads: '2', env: { KNOWHERE_SIMD: simd } })),
    ];
    let first: Record<string, string> | null = null;
    for (const { label, threads, env } of runs) {
      const outputs: Record<string, string> = {};
      for (const [name, args] of [
        ['cover', []], ['components', ['--clusters', 'components']], ['exact', ['--verify', 'exact']],
        ['pairs', ['--format', 'pairs-csv']],
      ] as const) {
        const out = path.join(dir, `${name}.out`);
        const keep = path.join(dir, `${name}.keep`);
        const child = dedup(['--jsonl', input, '--threads', threads, '-q', '-o', out, '--keep-first', keep, ...args],
          env);
        expect(child.status, `${label} ${name}: ${child.stderr}`).to.equal(0);
        outputs[`${name} output`] = fs.readFileSync(out, 'latin1');
        outputs[`${name} keep list`] = fs.readFileSync(keep, 'latin1');
      }
      if (first === null) {
        first = outputs;
        // Not trivially equal: there are clusters, chains differ between modes.
        expect(clustersOf(outputs['cover output']!).length).to.be.above(100);
        expect(outputs['pairs output']!.split('\n').length).to.be.above(300);
      } else {
        for (const key of Object.keys(first)) expect(outputs[key], `${label}: ${key}`).to.equal(first[key]);
      }
    }
    // The representative is each cluster's first document in input order.
    for (const cluster of clustersOf(first!['cover output']!)) {
      expect(cluster.representative.index).to.equal(cluster.members[0]!.index);
      expect(cluster.members.every((m, i) => i === 0 || m.index > cluster.members[i - 1]!.index)).to.equal(true);
    }
  });

  it('degenerate documents: empty ones skipped, never duplicates of real ones; one word, repeated words', () => {
    const input = path.join(dir, 'degenerate.jsonl');
    const texts = ['', '   \t  ', 'hello', 'hello', 'HELLO', 'hello world', 'two words', 'Two  Words',
      'la la la la', 'la la la la la la la', 'la la', '\u3000\u00a0', 'a real document with several words in it'];
    fs.writeFileSync(input, jsonl(texts));
    const child = dedup(['--jsonl', input, '--clusters', 'components']);
    expect(child.status, child.stderr).to.equal(0);
    for (const line of [1, 2, 12]) expect(child.stderr).to.include(`skipped ${input}:${line}: empty document`);
    const groups = clustersOf(child.stdout).map((c) => c.members.map((m) => m.name.replace(/^.*:/, '')));
    // One word: a single shingle, the word; fewer words than the shingle
    // size: one shingle, the whole text; a repeated word: one distinct
    // shingle (repeats count once), so "la la la la" and seven "la" match
    // while "la la" (one shingle "la la") does not.
    expect(groups).to.deep.equal([['3', '4', '5'], ['7', '8'], ['9', '10']]);
  });

  it('a corpus without near-duplicates: empty valid output and exit 0; one document too', () => {
    const input = path.join(dir, 'distinct.jsonl');
    const next = generator(5);
    fs.writeFileSync(input, jsonl(Array.from({ length: 200 }, () => randomWords(next, 25).join(' '))));
    const keep = path.join(dir, 'keep.txt');
    const clusters = dedup(['--jsonl', input, '--keep-first', keep, '-o', path.join(dir, 'none.jsonl')]);
    expect(clusters.status, clusters.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(dir, 'none.jsonl'), 'utf8')).to.equal('');
    expect(fs.readFileSync(keep, 'utf8').split('\n').length).to.equal(201);
    expect(clusters.stderr).to.match(/0 clusters holding 0 documents; 200 documents to keep/);
    const pairs = dedup(['--jsonl', input, '--format', 'pairs-csv']);
    expect(pairs.status, pairs.stderr).to.equal(0);
    expect(pairs.stdout).to.equal('left_index,right_index,left,right,similarity\n');
    const single = path.join(dir, 'single.txt');
    fs.writeFileSync(single, 'just one document\n');
    const one = dedup([single]);
    expect(one.status, one.stderr).to.equal(0);
    expect(one.stdout).to.equal('');
    // Only empty documents: no document read at all, which is exit 66 by design.
    const empty = path.join(dir, 'only-empty.jsonl');
    fs.writeFileSync(empty, jsonl(['', ' \n ']));
    const nothing = dedup(['--jsonl', empty]);
    expect(nothing.status).to.equal(66);
    expect(nothing.stderr).to.match(/no document to deduplicate \(2 inputs skipped\); no output written/);
  });
});
