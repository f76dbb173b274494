/**
 * The knowhere-rs command, run as a child process through its launcher
 * (bin/knowhere-rs.mjs) as `npx knowhere-rs` and `npm start` run it:
 * clusters of planted duplicates, JSON Lines with bad lines (skipped, or
 * fatal with --strict), the pairs CSV, the keep list, progress lines on a
 * non-terminal stderr, --timeout and Ctrl-C (exit status, no output file,
 * no temporary file, and how fast), usage errors, and the demo.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import {
  clustersOf, launcher, listing, randomWords, run, temporaryDirectory, vocab, withChanges,
} from './fixtures/cli.ts';
import { jaccard, wordShingles } from './fixtures/corpus.ts';
import { generator } from './fixtures/helpers.ts';

/**
 * A directory of text files: family A (an original, a copy with one word
 * changed, an upper-cased copy with different line breaks), family B (two
 * copies with two words changed), four unrelated files.
 */
function plantedDirectory(dir: string): { families: string[][]; singles: string[]; texts: Map<string, string> } {
  const next = generator(2024);
  const a = randomWords(next, 300);
  const b = randomWords(next, 250);
  const files: [string, string][] = [
    ['a-original.txt', a.join(' ')],
    ['nested/deeper/a-copy.txt', withChanges(a, 1).join(' ')],
    ['nested/A-SHOUTED.txt', a.join('\n').toUpperCase()],
    ['b-one.txt', withChanges(b, 2).join(' ')],
    ['nested/b-two.txt', b.join(' ')],
    ['c.txt', randomWords(next, 200).join(' ')],
    ['d.txt', randomWords(next, 200).join(' ')],
    ['nested/e.txt', randomWords(next, 200).join(' ')],
    ['nested/deeper/f, with comma.txt', randomWords(next, 200).join(' ')],
  ];
  const texts = new Map<string, string>();
  for (const [name, text] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
    texts.set(path.join(dir, name), text);
  }
  const at = (name: string): string => path.join(dir, name);
  return {
    families: [
      [at('a-original.txt'), at('nested/A-SHOUTED.txt'), at('nested/deeper/a-copy.txt')],
      [at('b-one.txt'), at('nested/b-two.txt')],
    ],
    singles: [at('c.txt'), at('d.txt'), at('nested/deeper/f, with comma.txt'), at('nested/e.txt')],
    texts,
  };
}

/** The order the command reads a directory in: depth first, sorted. */
function walkOrder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walkOrder(full));
    else out.push(full);
  }
  return out;
}

describe('knowhere-rs dedup: files and directories', function () {
  this.timeout(120_000);
  let dir: string;
  let planted: ReturnType<typeof plantedDirectory>;
  before(() => {
    dir = temporaryDirectory();
    planted = plantedDirectory(path.join(dir, 'docs'));
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('prints one JSON line per cluster of planted duplicates, representative first', () => {
    const child = run(['dedup', path.join(dir, 'docs')]);
    expect(child.status, child.stderr).to.equal(0);
    const clusters = clustersOf(child.stdout);
    const order = walkOrder(path.join(dir, 'docs'));
    expect(clusters.map((c) => c.members.map((m) => m.name).sort())).to.deep.equal(
      planted.families.map((family) => [...family].sort()));
    for (const cluster of clusters) {
      const names = cluster.members.map((m) => m.name);
      // The representative is the first of its cluster in reading order.
      const first = names.reduce((x, y) => (order.indexOf(x) < order.indexOf(y) ? x : y));
      expect(cluster.representative.name).to.equal(first);
      expect(cluster.members[0]!.name).to.equal(first);
      expect(cluster.members[0]!.similarity).to.equal(1);
      expect(cluster.size).to.equal(names.length);
      expect(cluster.members.map((m) => m.index)).to.deep.equal(names.map((name) => order.indexOf(name)));
      for (const member of cluster.members.slice(1)) expect(member.similarity).to.be.within(0.8, 1);
    }
    // The upper-cased copy with other line breaks normalises to the original.
    const a = clusters.find((c) => c.representative.name.endsWith('a-original.txt'))!;
    expect(a.members.find((m) => m.name.endsWith('A-SHOUTED.txt'))!.similarity).to.equal(1);
  });

  it('--verify exact reports exact Jaccard similarities to the representative', () => {
    const child = run(['dedup', '--verify', 'exact', path.join(dir, 'docs')]);
    expect(child.status, child.stderr).to.equal(0);
    // The exact similarity decides in the clustering itself: no pair list, no verifying phase.
    expect(child.stderr).to.match(/clustering: \d+ clusters of 2 or more/);
    expect(child.stderr).to.not.match(/verifying: /);
    const pairs = run(['dedup', '--verify', 'exact', '--format', 'pairs-csv', path.join(dir, 'docs')]);
    expect(pairs.stderr).to.match(/verifying: \d+ of \d+ pairs have an exact Jaccard similarity >= 0\.8/);
    const shingles = (name: string): Set<string> =>
      wordShingles(planted.texts.get(name)!.toLowerCase().split(/\s+/).filter((w) => w !== ''));
    for (const cluster of clustersOf(child.stdout)) {
      for (const member of cluster.members) {
        const exact = jaccard(shingles(cluster.representative.name), shingles(member.name));
        expect(member.similarity, member.name).to.be.closeTo(exact, 1e-4);
      }
    }
  });

  it('--format pairs-csv writes every pair with both names (quoted when needed) and the similarity', () => {
    fs.writeFileSync(path.join(dir, 'docs', 'nested', 'deeper', 'f, with comma copy.txt'),
      fs.readFileSync(path.join(dir, 'docs', 'nested', 'deeper', 'f, with comma.txt')));
    try {
      const child = run(['dedup', '--format', 'pairs-csv', path.join(dir, 'docs')]);
      expect(child.status, child.stderr).to.equal(0);
      const lines = child.stdout.trimEnd().split('\n');
      expect(lines[0]).to.equal('left_index,right_index,left,right,similarity');
      const order = walkOrder(path.join(dir, 'docs'));
      const rows = lines.slice(1);
      // Families of 3, 2 and 2: 3 + 1 + 1 pairs.
      expect(rows.length).to.equal(5);
      const copy = rows.find((row) => row.includes('comma copy'))!;
      const f = path.join(dir, 'docs', 'nested', 'deeper', 'f, with comma.txt');
      const fCopy = path.join(dir, 'docs', 'nested', 'deeper', 'f, with comma copy.txt');
      expect(copy).to.equal(`${order.indexOf(fCopy)},${order.indexOf(f)},"${fCopy}","${f}",1`);
      for (const row of rows) {
        const [i, j] = row.split(',').map(Number);
        expect(i).to.be.below(j!);
      }
    } finally {
      fs.rmSync(path.join(dir, 'docs', 'nested', 'deeper', 'f, with comma copy.txt'));
    }
  });

  it('--keep-first and --output write the keep list and the clusters to files, and no temporary file', () => {
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const child = run(['dedup', path.join(dir, 'docs'), '-o', path.join(out, 'clusters.jsonl'),
      '--keep-first', path.join(out, 'keep.txt')]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.equal('');
    expect(listing(out)).to.deep.equal(['clusters.jsonl', 'keep.txt']);
    const keep = fs.readFileSync(path.join(out, 'keep.txt'), 'utf8').trimEnd().split('\n');
    const order = walkOrder(path.join(dir, 'docs'));
    const expected = [...planted.families.map((family) => family.reduce((x, y) =>
      (order.indexOf(x) < order.indexOf(y) ? x : y))), ...planted.singles]
      .sort((x, y) => order.indexOf(x) - order.indexOf(y));
    expect(keep).to.deep.equal(expected);
    expect(clustersOf(fs.readFileSync(path.join(out, 'clusters.jsonl'), 'utf8')).length).to.equal(2);
  });

  it('bad files (dangling link, binary, empty) are reported with their path and skipped; --strict stops (exit 65)', () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'binary.bin'), Buffer.from([0x41, 0x42, 0x00, 0x43]));
    fs.writeFileSync(path.join(bad, 'empty.txt'), ' \n\t\u00a0\n');
    fs.copyFileSync(path.join(dir, 'docs', 'c.txt'), path.join(bad, 'c-copy.txt'));
    // A file in a directory that cannot be read is skipped (a named input
    // that cannot is fatal: test/cli-files.test.ts).
    const missing = path.join(bad, 'missing.txt');
    fs.symlinkSync('nowhere', missing);
    const child = run(['dedup', path.join(dir, 'docs'), bad]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.include(`knowhere-rs: skipped ${path.join(bad, 'binary.bin')}: binary file`);
    expect(child.stderr).to.include(`knowhere-rs: skipped ${path.join(bad, 'empty.txt')}: empty document`);
    expect(child.stderr).to.match(new RegExp(`knowhere-rs: skipped ${missing}: cannot read \\(ENOENT`));
    expect(child.stderr).to.match(/reading: 10 documents \(.*\), 3 skipped in/);
    // The copy of c.txt is found; the bad files are in no cluster.
    const clusters = clustersOf(child.stdout);
    expect(clusters.length).to.equal(3);
    expect(clusters.flatMap((c) => c.members.map((m) => m.name))).to.include(path.join(bad, 'c-copy.txt'));

    const output = path.join(dir, 'strict.jsonl');
    const strict = run(['dedup', '--strict', '-o', output, path.join(dir, 'docs'), bad]);
    expect(strict.status).to.equal(65);
    // The first problem: found while listing, before any file is read.
    expect(strict.stderr).to.include(`${missing}: cannot read (ENOENT`);
    fs.rmSync(missing);
    const binary = run(['dedup', '--strict', '-o', output, path.join(dir, 'docs'), bad]);
    expect(binary.status).to.equal(65);
    expect(binary.stderr).to.include(`${path.join(bad, 'binary.bin')}: binary file`);
    expect(strict.stderr).to.include('--strict');
    expect(fs.existsSync(output)).to.equal(false);
  });

  it('reports each finished phase with its time on a non-terminal stderr, without escape codes', () => {
    const child = run(['dedup', path.join(dir, 'docs')]);
    expect(child.status, child.stderr).to.equal(0);
    const phases = (stderr: string): string[] =>
      [...stderr.matchAll(/^knowhere-rs: (\w+): .* in \d+\.\d\d s$/gm)].map((m) => m[1]!);
    // Clusters are made from the index without listing pairs: no joining.
    expect(phases(child.stderr)).to.deep.equal(['listing', 'reading', 'indexing', 'clustering', 'writing']);
    expect(child.stderr).to.match(/indexing: 9 signatures of 128 hashes \(word 3-shingles, hashed in \d+\.\d\d s\) in 17 bands/);
    const pairs = run(['dedup', '--format', 'pairs-csv', path.join(dir, 'docs')]);
    expect(phases(pairs.stderr)).to.deep.equal(['listing', 'reading', 'indexing', 'joining', 'clustering', 'writing']);
    expect(child.stderr).to.match(/128 hashes, threshold 0\.8: 17 bands x 7 rows \(chosen for P >= 0\.95 .*\); /);
    expect(child.stderr).to.match(/P\(candidate\) at similarity .*0\.8: 0\.982/);
    expect(child.stderr).to.not.match(/[\r\x1b]/);
    const quiet = run(['dedup', '-q', path.join(dir, 'docs')]);
    expect(quiet.stderr).to.equal('');
    expect(quiet.stdout).to.equal(child.stdout);
  });

  it('--bands/--rows override the choice, --shingle and --num-hashes are honoured', () => {
    const child = run(['dedup', '--bands', '32', '--num-hashes', '64', '--shingle', 'chars:4', path.join(dir, 'docs')]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.match(/64 hashes, threshold 0\.8: 32 bands x 2 rows \(as given\)/);
    expect(child.stderr).to.match(/indexing: 9 signatures of 64 hashes \(character 4-shingles, hashed in /);
    expect(clustersOf(child.stdout).length).to.equal(2);
    const rows = run(['dedup', '--rows', '4', path.join(dir, 'docs')]);
    expect(rows.stderr).to.match(/32 bands x 4 rows \(as given\)/);
  });
});

describe('knowhere-rs dedup: JSON Lines', function () {
  this.timeout(120_000);
  let dir: string;
  let file: string;
  const next = generator(7);
  const base = randomWords(next, 120);
  const lines = [
    JSON.stringify({ id: 'first', text: base.join(' ') }),
    JSON.stringify({ id: 'second', text: withChanges(base, 1).join(' '), extra: [1, 2] }),
    '{"id": "broken", "text": "no closing quote}',
    JSON.stringify({ id: 'no-text', body: 'x' }),
    JSON.stringify({ id: 'number', text: 5 }),
    JSON.stringify({ id: 'blank', text: ' \n ' }),
    '',
    JSON.stringify({ id: 'other', text: randomWords(next, 120).join(' ') }),
    '[1, 2]',
    JSON.stringify({ text: base.join(' ') }),
  ];
  before(() => {
    dir = temporaryDirectory();
    file = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(file, `${lines.join('\r\n')}\n`);
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('reports each bad line with its line number and skips it; blank lines are not documents', () => {
    const child = run(['dedup', '--jsonl', file]);
    expect(child.status, child.stderr).to.equal(0);
    const skipped = child.stderr.split('\n').filter((line) => line.startsWith('knowhere-rs: skipped '));
    expect(skipped).to.deep.equal([
      `knowhere-rs: skipped ${file}:3: invalid JSON (${skipped[0]!.replace(/^.*invalid JSON \(/, '').replace(/\)$/, '')})`,
      `knowhere-rs: skipped ${file}:4: missing text field "text"`,
      `knowhere-rs: skipped ${file}:5: text field "text" is not a string`,
      `knowhere-rs: skipped ${file}:6: empty document`,
      `knowhere-rs: skipped ${file}:9: not a JSON object`,
    ]);
    expect(skipped[0]).to.match(/:3: invalid JSON \(.+\)$/);
    const clusters = clustersOf(child.stdout);
    expect(clusters.length).to.equal(1);
    expect(clusters[0]!.members.map((m) => [m.name, m.file, m.line])).to.deep.equal([
      [`${file}:1`, file, 1], [`${file}:2`, file, 2], [`${file}:10`, file, 10],
    ]);
  });

  it('--id-field names documents, --text-field picks the text; a missing id is a bad line', () => {
    const child = run(['dedup', '--jsonl', '--id-field', 'id', file, '--format', 'pairs-csv']);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.include(`${file}:10: missing id field "id"`);
    expect(child.stdout.trimEnd().split('\n').slice(1).map((row) => row.split(',').slice(2, 4).join(',')))
      .to.deep.equal(['first,second']);
    const other = path.join(dir, 'body.jsonl');
    fs.writeFileSync(other, `${JSON.stringify({ body: base.join(' ') })}\n${JSON.stringify({ body: base.join(' ') })}\n`);
    const byBody = run(['dedup', '--jsonl', '--text-field', 'body', other]);
    fs.rmSync(other);
    expect(byBody.status, byBody.stderr).to.equal(0);
    expect(clustersOf(byBody.stdout)[0]!.size).to.equal(2);
  });

  it('--strict makes the first bad line fatal: exit 65, the line named, no output file', () => {
    const output = path.join(dir, 'clusters.jsonl');
    const child = run(['dedup', '--jsonl', '--strict', file, '-o', output]);
    expect(child.status).to.equal(65);
    expect(child.stderr).to.match(new RegExp(`knowhere-rs: ${file.replace(/[.]/g, '\\.')}:3: invalid JSON .*--strict`));
    expect(child.stderr).to.not.include(':4:');
    expect(listing(dir)).to.deep.equal(['docs.jsonl']);
  });

  it('reads standard input for -', () => {
    const child = run(['dedup', '--jsonl', '-'], { input: `${lines[0]}\n${lines[1]}\n${lines[2]}\n` });
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.include('skipped <stdin>:3: invalid JSON');
    expect(clustersOf(child.stdout)[0]!.members.map((m) => m.name)).to.deep.equal(['<stdin>:1', '<stdin>:2']);
    const plain = run(['dedup', '-', path.join(dir, 'docs.jsonl')], { input: lines.join('\n') });
    expect(plain.status, plain.stderr).to.equal(0);
    expect(plain.stderr).to.match(/reading: 2 documents/);
  });
});

describe('knowhere-rs dedup: usage', function () {
  this.timeout(60_000);

  it('bad options and arguments are exit 2 with a message; --help is exit 0', () => {
    for (const [args, message] of [
      [['dedup'], /no input/],
      [['dedup', '--threshold', '1.5', 'x'], /--threshold: expected 0 < T <= 1/],
      [['dedup', '--threshold', 'high', 'x'], /--threshold: not a number/],
      [['dedup', '--shingle', 'lines:3', 'x'], /--shingle: expected words:N or chars:N/],
      [['dedup', '--format', 'xml', 'x'], /--format: expected clusters-jsonl or pairs-csv/],
      [['dedup', '--bands', '17', '--rows', '8', 'x'], /rows = floor\(num-hashes \/ bands\) = 7/],
      [['dedup', '--num-hashes', '0', 'x'], /--num-hashes: expected an integer in 1\.\.65536/],
      [['dedup', '--verify', 'maybe', 'x'], /--verify: expected exact or none/],
      [['dedup', '--timeout', '0', 'x'], /--timeout: expected a positive number/],
      [['dedup', '--id-field', 'id', 'x'], /--id-field needs --jsonl/],
      [['dedup', '--nope', 'x'], /Unknown option '--nope'/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [[], /Usage: knowhere-rs <command>/],
    ] as const) {
      const child = run(args);
      expect(child.status, `${args.join(' ')}: ${child.stderr}`).to.equal(2);
      expect(child.stderr).to.match(message);
    }
    const help = run(['dedup', '--help']);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.include('Exit status: 0 done, 1 failure, 2 usage error, 65 bad input with --strict');
  });
});

// ---------------------------------------------------------------------------
// Cancellation on a large input
// ---------------------------------------------------------------------------

/** `n` JSON lines of 40 words, in families of near-duplicates (10 % of the
 * words changed), so that a permissive join has plenty to do. */
function writeLargeInput(file: string, n: number): void {
  const next = generator(31);
  const bases = Array.from({ length: Math.ceil(n / 15) }, () => randomWords(next, 40));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const words = [...bases[next() % bases.length]!];
    for (let k = 0; k < words.length; k++) if (next() % 10 === 0) words[k] = vocab[next() % vocab.length]!;
    lines.push(JSON.stringify({ text: words.join(' ') }));
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

describe('knowhere-rs dedup: --timeout and Ctrl-C', function () {
  this.timeout(180_000);
  let dir: string;
  let input: string;
  before(() => {
    dir = temporaryDirectory();
    input = path.join(dir, 'large.jsonl');
    writeLargeInput(input, 200_000);
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('--timeout 0.05 exits 124 with a message, no output file and no temporary file', () => {
    const output = path.join(dir, 'out.jsonl');
    const started = performance.now();
    const child = run(['dedup', '--jsonl', input, '-o', output, '--keep-first', path.join(dir, 'keep.txt'),
      '--timeout', '0.05']);
    expect(child.status, child.stderr).to.equal(124);
    expect(child.stderr).to.match(/knowhere-rs: timed out \(--timeout 0\.05\) while reading after 0\.\d\d s; no output written/);
    expect(listing(dir)).to.deep.equal(['large.jsonl']);
    expect(performance.now() - started).to.be.below(10_000);
  });

  it('a timeout during the native work leaves an existing output file as it was', () => {
    const output = path.join(dir, 'existing.jsonl');
    fs.writeFileSync(output, 'previous contents\n');
    try {
      const child = run(['dedup', '--jsonl', input, '-o', output, '-t', '0.3', '--bands', '128', '--threads', '1',
        '--format', 'pairs-csv', '--timeout', '2']);
      expect(child.status, child.stderr).to.equal(124);
      // Hashing and indexing run within the streamed reading pass.
      expect(child.stderr).to.match(/timed out \(--timeout 2\) while (reading|joining)/);
      expect(fs.readFileSync(output, 'utf8')).to.equal('previous contents\n');
      expect(listing(dir)).to.deep.equal(['existing.jsonl', 'large.jsonl']);
    } finally {
      fs.rmSync(output);
    }
  });

  it('SIGINT during the join exits 130 within a fraction of a second, with no output and no temporary file',
    async () => {
      const output = path.join(dir, 'out.jsonl');
      // A permissive join (pairs-csv lists the pairs) on one thread: seconds of native work.
      const child = spawn(process.execPath, [launcher, 'dedup', '--jsonl', input, '-o', output, '-t', '0.3',
        '--bands', '128', '--threads', '1', '--format', 'pairs-csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let signalled = 0;
      let messaged = 0;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        if (messaged === 0 && signalled > 0 && /interrupted \(SIGINT\)/.test(stderr)) messaged = performance.now();
        if (signalled === 0 && /indexing: /.test(stderr)) {
          // The join has started; let it run a little.
          setTimeout(() => {
            signalled = performance.now();
            child.kill('SIGINT');
          }, 300);
        }
      });
      const code = await new Promise<number | null>((resolve) => { child.on('exit', (status) => { resolve(status); }); });
      const exited = performance.now();
      expect(signalled, stderr).to.be.above(0);
      expect(code, stderr).to.equal(130);
      expect(stderr).to.match(/knowhere-rs: interrupted \(SIGINT\) while joining after \d+\.\d\d s; no output written/);
      expect(stderr).to.not.match(/joining: \d+ pairs/);
      expect(listing(dir)).to.deep.equal(['large.jsonl']);
      const latency = exited - signalled;
      console.log(`      SIGINT -> message ${(messaged - signalled).toFixed(0)} ms, -> exit ${latency.toFixed(0)} ms`);
      expect(latency).to.be.below(1000);
    });
});

describe('knowhere-rs dedup --demo (npm start)', function () {
  this.timeout(120_000);

  it('deduplicates the SpamAssassin corpus and prints a summary with the largest clusters and phase times', () => {
    const child = run(['dedup', '--demo']);
    expect(child.status, child.stderr).to.equal(0);
    const lines = child.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^SpamAssassin public mail corpus \(@stdlib\/datasets-spam-assassin\): 6046 mails, /);
    expect(lines[1]).to.equal('near-duplicates at Jaccard >= 0.8 (word 3-shingles, 128 hashes, 17 bands x 7 rows):');
    const counts = /^ {2}(\d+) clusters holding (\d+) mails; (\d+) mails to keep$/.exec(lines[2]!);
    expect(counts, lines[2]).to.not.equal(null);
    const [clusters, held, keep] = counts!.slice(1).map(Number) as [number, number, number];
    expect(clusters).to.be.above(100);
    expect(keep).to.equal(6046 - held + clusters);
    expect(lines[3]).to.equal('  largest clusters:');
    expect(lines.slice(4, 9).every((line) => /^ +\d+ mails {2}(spam|easy-ham|hard-ham)-\d\/\d+/.test(line))).to.equal(true);
    expect(lines[lines.length - 1]).to.match(/^time: reading \d+\.\d\d s, indexing .*, clustering .*; total \d+\.\d\d s$/);
  });
});
