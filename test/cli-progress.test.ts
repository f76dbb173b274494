/**
 * The progress bar of `knowhere-rs dedup` on a terminal (issue 11, item 9):
 * the output on standard output never starts on the bar's line when both
 * are the terminal, and the indexing progress counts documents. Run under
 * a pseudo-terminal made by script(1) (util-linux), and unit tests of the
 * reporter.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import { PhaseReporter, scaledProgress } from '../ts/cli/progress.ts';
import { launcher, randomWords, temporaryDirectory } from './fixtures/cli.ts';
import { generator } from './fixtures/helpers.ts';

/**
 * The lines a terminal shows for `raw`: CR goes back to the first column,
 * ESC [ K erases to the end of the line, LF starts a new line; characters
 * overwrite what is under the cursor.
 */
function screen(raw: string): string[] {
  const lines: string[] = [];
  let line = '';
  let column = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\n') {
      lines.push(line);
      line = '';
      column = 0;
    } else if (c === '\r') {
      column = 0;
    } else if (c === '\x1b' && raw.startsWith('\x1b[K', i)) {
      line = line.slice(0, column);
      i += 2;
    } else {
      line = line.slice(0, column) + c + line.slice(column + 1);
      column++;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Everything written to a pseudo-terminal by `knowhere-rs ARGS`. */
function runOnTerminal(args: readonly string[]): { status: number | null; output: string } {
  const command = [process.execPath, launcher, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawnSync('script', ['-qfec', command, '/dev/null'], {
    encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: child.status, output: child.stdout };
}

function hasScript(): boolean {
  return spawnSync('script', ['-qfec', 'true', '/dev/null'], { stdio: 'ignore' }).status === 0;
}

describe('knowhere-rs dedup on a terminal (issue 11, item 9)', function () {
  this.timeout(120_000);
  let dir: string;
  before(function () {
    if (!hasScript()) this.skip();
    dir = temporaryDirectory();
    const next = generator(5);
    const text = randomWords(next, 300).join(' ');
    for (const name of ['a.txt', 'b.txt', 'c.txt']) fs.writeFileSync(path.join(dir, name), text);
    fs.writeFileSync(path.join(dir, 'd.txt'), randomWords(next, 300).join(' '));
  });
  after(() => { if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true }); });

  it('the JSON output starts on a line of its own, not after the progress bar', () => {
    const { status, output } = runOnTerminal(['dedup', dir]);
    expect(status, output).to.equal(0);
    // The bar was drawn (the terminal is seen as one).
    expect(output).to.match(/\r\x1b\[Kwriting {3}/);
    const lines = screen(output);
    const cluster = lines.find((line) => line.includes('{"representative"'));
    expect(cluster, lines.join('\n')).to.not.equal(undefined);
    expect(cluster!.startsWith('{"representative"'), cluster).to.equal(true);
  });

  it('the reading bar, within which hashing and indexing run, counts files (4), not the library\'s units', () => {
    const { status, output } = runOnTerminal(['dedup', dir]);
    expect(status, output).to.equal(0);
    const drawn = output.split(/\r\x1b\[K/).filter((frame) => frame.startsWith('reading '));
    expect(drawn.length, output).to.be.above(0);
    for (const frame of drawn) expect(frame, frame).to.match(/ [0-4](\/4)? files /);
    // Their line follows the reading line, on a line of its own.
    expect(output).to.match(/reading: 4 documents .*\r?\nindexing: 4 signatures of 128 hashes \(word 3-shingles, hashed in /);
  });
});

describe('the progress reporter', () => {
  interface Fake { isTTY: boolean; columns: number; text: string; write(chunk: string): boolean }
  const terminal = (): Fake => ({
    isTTY: true, columns: 100, text: '', write(chunk: string) { this.text += chunk; return true; },
  });

  it('scaledProgress maps the library\'s units onto documents', () => {
    expect(scaledProgress(0, 27_800_000, 200_000)).to.equal(0);
    expect(scaledProgress(3_294_208, 27_800_000, 200_000)).to.equal(23_699);
    expect(scaledProgress(27_800_000, 27_800_000, 200_000)).to.equal(200_000);
    // Unknown or nonsensical totals.
    expect(scaledProgress(5, 0, 10)).to.equal(0);
    expect(scaledProgress(50, 10, 10)).to.equal(10);
  });

  it('hold() clears the bar and draws no more until the phase ends', () => {
    const stream = terminal();
    const reporter = new PhaseReporter(stream, { quiet: false });
    reporter.start('writing', 'bytes');
    expect(stream.text).to.match(/\r\x1b\[Kwriting {4}0 B {2}0\.00 s$/);
    reporter.hold();
    expect(stream.text.endsWith('\r\x1b[K')).to.equal(true);
    const before = stream.text.length;
    reporter.update(1 << 20, 0);
    expect(stream.text.length).to.equal(before);
    reporter.end('1.0 MiB to standard output');
    expect(stream.text.slice(before)).to.match(/^\r\x1b\[Kwriting: 1\.0 MiB to standard output in \d\.\d\d s\n$/);
  });

  it('quiet: nothing at all, messages included', () => {
    const stream = terminal();
    const reporter = new PhaseReporter(stream, { quiet: true });
    reporter.start('reading', 'files', 3);
    reporter.update(1, 3);
    reporter.message('knowhere-rs: skipped x: binary file');
    reporter.end('3 documents');
    expect(stream.text).to.equal('');
  });
});
