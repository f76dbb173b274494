/**
 * `knowhere-rs dedup` on streamed input (docs/cli.md, "Corpora larger than
 * memory"): the same answer whatever the batch size and from .jsonl.gz as
 * from .jsonl; --verify exact reading the candidates again (from standard
 * input's spool too); --max-document-bytes; --stats; and an interruption in
 * the middle of the streamed pass of a mid-size run: exit status, no
 * output, no temporary or spool file left.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { expect } from 'chai';

import { launcher, listing, randomWords, run, temporaryDirectory, withChanges } from './fixtures/cli.ts';
import { generator } from './fixtures/helpers.ts';

/** JSON lines: every fourth a copy of the one before with one word changed. */
function corpus(count: number, seed: number): string {
  const next = generator(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    texts.push(i % 4 === 3 ? withChanges(texts[i - 1]!.split(' '), 1).join(' ') : randomWords(next, 60 + (next() % 60)).join(' '));
  }
  return `${texts.map((text) => JSON.stringify({ text })).join('\n')}\n`;
}

/** Spool files of this user's runs left in the temporary directory. */
const spools = (): string[] => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('.knowhere-rs.') && f.endsWith('.spool'));

describe('knowhere-rs dedup: streamed input', function () {
  this.timeout(120_000);
  let dir: string;
  let jsonl: string;
  before(() => {
    dir = temporaryDirectory();
    jsonl = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(jsonl, corpus(600, 31));
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('gives the same clusters whatever the batch size, and from .jsonl.gz as from .jsonl', () => {
    const whole = run(['dedup', '--jsonl', jsonl, '-q']);
    expect(whole.status, whole.stderr).to.equal(0);
    expect(whole.stdout.split('\n').length).to.be.greaterThan(100);
    // 2 KiB batches: the file is a couple of hundred of them.
    const small = run(['dedup', '--jsonl', jsonl, '-q', '--batch-bytes', '2K']);
    expect(small.stdout).to.equal(whole.stdout);
    const gz = path.join(dir, 'docs.jsonl.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(jsonl)));
    const zipped = run(['dedup', '--jsonl', gz, '-q', '--batch-bytes', '2K']);
    expect(zipped.stdout).to.equal(whole.stdout.replaceAll(JSON.stringify(jsonl).slice(1, -1), JSON.stringify(gz).slice(1, -1)));
  });

  it('--verify exact reads the candidates again: the same answer from a file and from standard input', () => {
    const fromFile = run(['dedup', '--jsonl', '--verify', 'exact', jsonl, '-q', '--format', 'pairs-csv']);
    expect(fromFile.status, fromFile.stderr).to.equal(0);
    const fromStdin = run(['dedup', '--jsonl', '--verify', 'exact', '-', '-q', '--format', 'pairs-csv'],
      { input: fs.readFileSync(jsonl, 'utf8') });
    expect(fromStdin.status, fromStdin.stderr).to.equal(0);
    const names = (csv: string): string => csv.replaceAll(`${jsonl}:`, '<stdin>:');
    expect(fromStdin.stdout).to.equal(names(fromFile.stdout));
    expect(fromFile.stdout.split('\n').length).to.be.greaterThan(100);
    expect(spools()).to.deep.equal([]);
  });

  it('refuses a document over --max-document-bytes by name, and --stats prints the memory', () => {
    const file = path.join(dir, 'big.jsonl');
    fs.writeFileSync(file, `${fs.readFileSync(jsonl, 'utf8')}${JSON.stringify({ text: 'word '.repeat(40_000) })}\n`);
    const child = run(['dedup', '--jsonl', file, '--max-document-bytes', '64K', '--stats', '-o', path.join(dir, 'o.jsonl')]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.contain(`skipped ${file}:601: 195.3 KiB, larger than --max-document-bytes (64.0 KiB)`);
    expect(child.stderr).to.match(/reading: 600 documents \(.*\), 1 skipped in /);
    expect(child.stderr).to.match(/memory: peak RSS [\d.]+ MiB for 600 documents \(\d+ B\/document\): index [\d.]+ KiB /);
  });

  it('--raw-bits 8 ranks on 8-bit codes: the same keep list here, the raw data a quarter as large; other widths refused', () => {
    // Copies with one word changed (J about 0.9) and unrelated texts (J about
    // 0): far from the threshold, where codes and values agree.
    const keepFull = path.join(dir, 'keep-full.txt');
    const keepCodes = path.join(dir, 'keep-codes.txt');
    const full = run(['dedup', '--jsonl', jsonl, '--stats', '--keep-first', keepFull, '-o', path.join(dir, 'c1.jsonl')]);
    const codes = run(['dedup', '--jsonl', jsonl, '--stats', '--raw-bits', '8', '--keep-first', keepCodes,
      '-o', path.join(dir, 'c2.jsonl')]);
    expect(full.status, full.stderr).to.equal(0);
    expect(codes.status, codes.stderr).to.equal(0);
    expect(fs.readFileSync(keepCodes, 'utf8')).to.equal(fs.readFileSync(keepFull, 'utf8'));
    expect(fs.readFileSync(keepFull, 'utf8').split('\n').length).to.be.within(400, 500); // a quarter are copies
    const perDocument = (stderr: string): number => {
      const m = /memory: .*index [\d.]+ [KMG]iB \((\d+) B\/document\)/.exec(stderr);
      expect(m, stderr).to.not.equal(null);
      return Number(m![1]);
    };
    // 512 bytes of values against 128 of codes a document, plus the same band tables.
    expect(perDocument(full.stderr) - perDocument(codes.stderr)).to.be.within(384 - 16, 384 + 16);
    const bad = run(['dedup', '--jsonl', jsonl, '--raw-bits', '4']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('--raw-bits: expected 0, 8 or 16, got 4');
  });

  it('Ctrl-C in the middle of the streamed pass of a mid-size run: exit 130 at once, nothing written or left',
    async () => {
      // 120 000 documents (72 MiB) read in 64 KiB batches on one thread: about a
      // second of reading and hashing on an idle machine; the signal comes 100 ms
      // into it (the run must not finish first).
      const big = path.join(dir, 'mid.jsonl');
      const chunk = corpus(2000, 5);
      fs.writeFileSync(big, chunk.repeat(60));
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      const child = spawn(process.execPath, [launcher, 'dedup', '--jsonl', big, '-o', path.join(out, 'c.jsonl'),
        '--batch-bytes', '64K', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let signalled = 0;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderr += text;
        if (signalled === 0 && /listing: /.test(stderr)) {
          setTimeout(() => {
            signalled = performance.now();
            child.kill('SIGINT');
          }, 100);
        }
      });
      const code = await new Promise<number | null>((resolve) => { child.on('exit', (status) => { resolve(status); }); });
      const latency = performance.now() - signalled;
      expect(code, stderr).to.equal(130);
      // Which phase the signal meets depends on the machine's speed; reading, mostly.
      expect(stderr).to.match(/interrupted \(SIGINT\) while \w+ after \d+\.\d\d s; no output written/);
      expect(listing(out)).to.deep.equal([]);
      console.log(`      SIGINT while reading -> exit ${latency.toFixed(0)} ms`);
      // Generous for a loaded 2-core machine; measured figures are in the report.
      expect(latency).to.be.below(2000);
    });
});
