/**
 * `knowhere-rs filter` (ts/cli/filter.ts): the keep list of `dedup
 * --keep-first`, online. Its answer equals dedup's, byte for byte, in both
 * verification modes; names come out while standard input is still open;
 * files are written as every command writes them; options are checked.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import { launcher, randomWords, run, temporaryDirectory, withChanges } from './fixtures/cli.ts';
import { generator } from './fixtures/helpers.ts';

/** JSON lines with near-duplicate families: a document is new, or a copy
 * of an earlier one with 1 to 12 words changed (some within 0.8 of it,
 * some not), so that the keep list depends on the order and on chains. */
function corpus(count: number, seed: number): string {
  const next = generator(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const copy = i > 10 && next() % 3 === 0;
    texts.push(copy ? withChanges(texts[next() % i]!.split(' '), 1 + (next() % 12)).join(' ')
      : randomWords(next, 80 + (next() % 40)).join(' '));
  }
  return `${texts.map((text, i) => JSON.stringify({ id: `doc-${i}`, text })).join('\n')}\n`;
}

describe('knowhere-rs filter: the keep list, online', function () {
  this.timeout(120_000);
  let dir: string;
  let jsonl: string;
  before(() => {
    dir = temporaryDirectory();
    jsonl = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(jsonl, corpus(3000, 7));
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  for (const verify of ['estimate', 'exact'] as const) {
    it(`writes the names dedup --keep-first writes (--verify ${verify})`, () => {
      const keep = path.join(dir, `keep-${verify}.txt`);
      const dedup = run(['dedup', '--jsonl', jsonl, '--keep-first', keep, '-o', path.join(dir, `c-${verify}.jsonl`), '-q',
        ...(verify === 'exact' ? ['--verify', 'exact'] : [])]);
      expect(dedup.status, dedup.stderr).to.equal(0);
      const filter = run(['filter', '--jsonl', jsonl, '--verify', verify, '-q']);
      expect(filter.status, filter.stderr).to.equal(0);
      const kept = filter.stdout.split('\n').filter((l) => l !== '');
      expect(kept.length).to.be.within(2200, 2950); // families were dropped, not everything
      expect(filter.stdout).to.equal(fs.readFileSync(keep, 'utf8'));
      // The same with ids as names, a stricter threshold, and small batches.
      const ids = run(['filter', '--jsonl', jsonl, '--id-field', 'id', '-t', '0.9', '--batch-bytes', '4K', '-q',
        '--verify', verify]);
      const dedupIds = run(['dedup', '--jsonl', jsonl, '--id-field', 'id', '-t', '0.9', '--keep-first', '-', '-o',
        path.join(dir, 'c.jsonl'), '-q', ...(verify === 'exact' ? ['--verify', 'exact'] : [])]);
      expect(ids.stdout).to.equal(dedupIds.stdout);
      expect(ids.stdout.split('\n')[0]).to.equal('doc-0');
    });
  }

  it('writes a kept name while standard input is still open (a pipeline)', async () => {
    const child = spawn(process.execPath, [launcher, 'filter', '--jsonl', '-', '-q', '--batch-bytes', '1K'],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = fs.readFileSync(jsonl, 'utf8').split('\n');
    let stdout = '';
    const firstName = new Promise<string>((resolve) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        stdout += text;
        if (stdout.includes('\n')) resolve(stdout);
      });
    });
    // 40 lines (several batches of 1 KiB), then wait: the first names must
    // arrive before the input ends.
    child.stdin.write(`${lines.slice(0, 40).join('\n')}\n`);
    const early = await firstName;
    expect(early.split('\n')[0]).to.equal('<stdin>:1');
    child.stdin.end(`${lines.slice(40).join('\n')}`);
    const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); });
    expect(code).to.equal(0);
    const whole = run(['filter', '--jsonl', jsonl, '-q']);
    expect(stdout).to.equal(whole.stdout.replaceAll(`${jsonl}:`, '<stdin>:'));
  });

  it('writes -o through a temporary file, and never replaces it with a run that read nothing', () => {
    const out = path.join(dir, 'kept.txt');
    const ok = run(['filter', '--jsonl', jsonl, '-o', out, '-0']);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stderr).to.match(/3000 documents in [\d.]+ s: \d+ kept, \d+ near-duplicates of a kept one at Jaccard >= 0\.8/);
    const names = fs.readFileSync(out, 'utf8');
    expect(names.endsWith('\0')).to.equal(true);
    expect(names.split('\0')[0]).to.equal(`${jsonl}:1`);
    const empty = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(empty, '\n\n');
    const none = run(['filter', '--jsonl', empty, '-o', out]);
    expect(none.status).to.equal(66);
    expect(none.stderr).to.match(/no document to filter; no output written/);
    expect(fs.readFileSync(out, 'utf8')).to.equal(names);
    const self = run(['filter', '--jsonl', jsonl, '-o', jsonl]);
    expect(self.status).to.equal(2);
    expect(self.stderr).to.match(/is the same file as the input .*; refusing to overwrite an input/);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('stops on Ctrl-C inside a large batch: exit 130 at once, no output file', async () => {
    // 300 000 documents (225 MB) in batches of 128 MB, each of about
    // 170 000 documents: on an idle machine about a second of reading the
    // first batch, then seconds of judging (exact), 3 s or more in all;
    // the signal comes 1.5 s in, while the first batch is judged (a loop
    // that looked at the signal only between batches would take a second
    // or more to stop). With 120 000 documents an idle machine had
    // finished before the signal.
    const big = path.join(dir, 'big.jsonl');
    fs.writeFileSync(big, fs.readFileSync(jsonl, 'utf8').repeat(100));
    const out = path.join(dir, 'stopped.txt');
    const child = spawn(process.execPath, [launcher, 'filter', '--jsonl', big, '-o', out, '--batch-bytes', '128M',
      '--verify', 'exact'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let signalled = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      if (signalled === 0 && /listing: /.test(stderr)) {
        setTimeout(() => { signalled = performance.now(); child.kill('SIGINT'); }, 1500);
      }
    });
    const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve); });
    const latency = performance.now() - signalled;
    expect(code, stderr).to.equal(130);
    expect(stderr).to.match(/interrupted \(SIGINT\) while (filtering|listing) after [\d.]+ s; no output written/);
    expect(fs.existsSync(out)).to.equal(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
    console.log(`      SIGINT while filtering -> exit ${latency.toFixed(0)} ms`);
    expect(latency).to.be.below(2000); // generous for a loaded 2-core machine
  });

  it('checks its options', () => {
    const bad = (args: string[], message: RegExp): void => {
      const r = run(['filter', ...args]);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.match(message);
    };
    bad(['--jsonl', jsonl, '--verify', 'maybe'], /--verify: expected estimate or exact, got maybe/);
    bad(['--jsonl', jsonl, '--threads', '2'], /--threads/);
    bad(['--jsonl', jsonl, '-t', '1'], /--threshold 1 needs --bands or --rows/);
    bad([], /no input/);
    const help = run(['filter', '--help']);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/^Usage: knowhere-rs filter/);
  });
});
