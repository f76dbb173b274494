/**
 * `knowhere-rs dedup` never destroys the user's files (issue 11): outputs
 * that are inputs (or each other), misspelled inputs, output paths checked
 * before the work, FIFOs on the command line, --timeout beyond Node's timer
 * range, file names that are not UTF-8 or hold a newline, symbolic links,
 * the keep list's chain-free semantics, -q with many bad files,
 * --include/--exclude and .gz input. Each test spawns the command as
 * test/cli.test.ts does.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { expect } from 'chai';

import { clustersOf, listing, randomWords, run, start, temporaryDirectory, withChanges } from './fixtures/cli.ts';
import { jaccard, wordShingles } from './fixtures/corpus.ts';
import { generator } from './fixtures/helpers.ts';

const next = generator(1111);
/** Distinct texts of 300 random words (no two are near-duplicates). */
const texts = Array.from({ length: 8 }, () => randomWords(next, 300).join(' '));

function write(file: string, content: string | Uint8Array): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

/** The names of a keep list file, one per line. */
function keepList(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
}

describe('knowhere-rs dedup: outputs never overwrite inputs (issue 11, item 1)', function () {
  this.timeout(60_000);
  let dir: string;
  let a: string;
  let b: string;
  beforeEach(() => {
    dir = temporaryDirectory();
    a = write(path.join(dir, 'a.txt'), texts[0]!);
    b = write(path.join(dir, 'b.txt'), texts[0]!);
  });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  const refused = (args: readonly string[], message: RegExp): void => {
    const child = run(['dedup', ...args], { cwd: dir });
    expect(child.status, child.stderr).to.equal(2);
    expect(child.stderr).to.match(message);
    expect(child.stderr, 'refused before any work').to.not.match(/reading:|hashing:/);
    expect(fs.readFileSync(a, 'utf8')).to.equal(texts[0]);
    expect(fs.readFileSync(b, 'utf8')).to.equal(texts[0]);
  };

  it('refuses -o INPUT and --keep-first INPUT (exit 2), leaving the input as it was', () => {
    refused(['a.txt', 'b.txt', '-o', 'a.txt'], /--output a\.txt is the same file as the input .*a\.txt/);
    refused(['a.txt', 'b.txt', '--keep-first', 'a.txt'], /--keep-first a\.txt is the same file as the input/);
    refused(['a.txt', 'b.txt', '-o', `${dir}/./a.txt`], /same file as the input/);
  });

  it('compares files, not strings: ./out.txt and out.txt are one file, existing or not', () => {
    refused(['a.txt', 'b.txt', '-o', 'out.txt', '--keep-first', './out.txt'],
      /--output out\.txt and --keep-first \.\/out\.txt are the same file/);
    expect(listing(dir)).to.deep.equal(['a.txt', 'b.txt']);
    write(path.join(dir, 'out.txt'), 'previous\n');
    fs.mkdirSync(path.join(dir, 'sub'));
    refused(['a.txt', 'b.txt', '-o', 'out.txt', '--keep-first', `${dir}/sub/../out.txt`], /are the same file/);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).to.equal('previous\n');
  });

  it('counts the files found in a directory input, symbolic and hard links to inputs too', () => {
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.renameSync(b, path.join(dir, 'docs', 'b.txt'));
    b = path.join(dir, 'docs', 'b.txt');
    refused(['a.txt', 'docs', '-o', 'docs/b.txt'], /--output docs\/b\.txt is the same file as the input .*docs\/b\.txt/);
    fs.symlinkSync('a.txt', path.join(dir, 'link-to-a'));
    refused(['a.txt', 'docs', '--keep-first', 'link-to-a'], /same file as the input/);
    fs.linkSync(a, path.join(dir, 'hard-a'));
    refused(['a.txt', 'docs', '-o', 'hard-a'], /same file as the input/);
  });

  it('an output next to the inputs is fine', () => {
    const child = run(['dedup', 'a.txt', 'b.txt', '-o', 'out.jsonl', '--keep-first', 'keep.txt'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(0);
    expect(keepList(path.join(dir, 'keep.txt'))).to.deep.equal(['a.txt']);
    expect(clustersOf(fs.readFileSync(path.join(dir, 'out.jsonl'), 'utf8')).length).to.equal(1);
    // Files in a directory are named as path.join names them ('.' adds nothing).
    const here = run(['dedup', '.', '--exclude', '*.jsonl', '--exclude', 'keep.txt', '--keep-first', '-'], { cwd: dir });
    expect(here.status, here.stderr).to.equal(0);
    expect(here.stdout).to.equal('a.txt\n');
  });
});

describe('knowhere-rs dedup: missing inputs and empty runs (item 2)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = temporaryDirectory();
    write(path.join(dir, 'docs', 'a.txt'), texts[0]!);
    write(path.join(dir, 'prev.jsonl'), 'previous results\n');
  });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('a named input that does not exist is exit 66 (EX_NOINPUT), and the output is left alone', () => {
    const child = run(['dedup', 'typo/', '-o', 'prev.jsonl'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(66);
    expect(child.stderr).to.match(/knowhere-rs: cannot read typo\/: ENOENT: no such file or directory; no output written/);
    expect(child.stderr).to.not.include('skipped');
    expect(fs.readFileSync(path.join(dir, 'prev.jsonl'), 'utf8')).to.equal('previous results\n');
    const also = run(['dedup', 'docs', 'missing.txt', '-o', 'prev.jsonl'], { cwd: dir });
    expect(also.status, also.stderr).to.equal(66);
    expect(fs.readFileSync(path.join(dir, 'prev.jsonl'), 'utf8')).to.equal('previous results\n');
  });

  it('a run that read no document exits 66 and replaces no output', () => {
    write(path.join(dir, 'bad', 'binary.bin'), Buffer.from([1, 0, 2]));
    write(path.join(dir, 'bad', 'blank.txt'), '  \n');
    const child = run(['dedup', 'bad', '-o', 'prev.jsonl', '--keep-first', 'keep.txt'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(66);
    expect(child.stderr).to.match(/knowhere-rs: no document to deduplicate \(2 inputs skipped\); no output written/);
    expect(fs.readFileSync(path.join(dir, 'prev.jsonl'), 'utf8')).to.equal('previous results\n');
    expect(fs.existsSync(path.join(dir, 'keep.txt'))).to.equal(false);
  });
});

describe('knowhere-rs dedup: output paths (item 3)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = temporaryDirectory();
    write(path.join(dir, 'a.txt'), texts[0]!);
    write(path.join(dir, 'b.txt'), texts[0]!);
  });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('an output in a missing directory, under a file, or that is a directory: exit 73 before the work, ' +
    'naming the path given', () => {
    fs.mkdirSync(path.join(dir, 'somedir'));
    for (const [output, message] of [
      ['nodir/out.jsonl', /knowhere-rs: cannot write --output nodir\/out\.jsonl: the directory nodir does not exist/],
      ['a.txt/out.jsonl', /knowhere-rs: cannot write --output a\.txt\/out\.jsonl: a\.txt is not a directory/],
      ['somedir', /knowhere-rs: cannot write --output somedir: it is a directory/],
    ] as const) {
      const child = run(['dedup', 'a.txt', 'b.txt', '-o', output], { cwd: dir });
      expect(child.status, child.stderr).to.equal(73);
      expect(child.stderr).to.match(message);
      expect(child.stderr).to.not.match(/\.tmp|reading:/);
    }
    const keep = run(['dedup', 'a.txt', 'b.txt', '--keep-first', 'nodir/keep.txt'], { cwd: dir });
    expect(keep.status, keep.stderr).to.equal(73);
    expect(keep.stderr).to.match(/cannot write --keep-first nodir\/keep\.txt/);
    expect(keep.stdout).to.equal('');
    expect(listing(dir)).to.deep.equal(['a.txt', 'b.txt', 'somedir']);
  });

  it('-o - is standard output; --keep-first - puts the keep list alone on standard output', () => {
    const child = run(['dedup', 'a.txt', 'b.txt', '-o', '-'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(0);
    expect(clustersOf(child.stdout).map((c) => c.size)).to.deep.equal([2]);
    const keep = run(['dedup', 'a.txt', 'b.txt', '--keep-first', '-'], { cwd: dir });
    expect(keep.status, keep.stderr).to.equal(0);
    expect(keep.stdout).to.equal('a.txt\n');
    const both = run(['dedup', 'a.txt', 'b.txt', '-o', '-', '--keep-first', '-'], { cwd: dir });
    expect(both.status).to.equal(2);
    expect(both.stderr).to.match(/--output - and --keep-first - are both standard output/);
    expect(listing(dir)).to.deep.equal(['a.txt', 'b.txt']);
  });

  it('replaces an output by a rename (a hard link to the old file keeps the old contents), keeping its mode', () => {
    const out = write(path.join(dir, 'out.jsonl'), 'previous\n');
    fs.chmodSync(out, 0o600);
    fs.linkSync(out, path.join(dir, 'old.jsonl'));
    const child = run(['dedup', 'a.txt', 'b.txt', '-o', 'out.jsonl'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(dir, 'old.jsonl'), 'utf8')).to.equal('previous\n');
    expect(clustersOf(fs.readFileSync(out, 'utf8')).length).to.equal(1);
    expect(fs.statSync(out).mode & 0o777).to.equal(0o600);
    expect(listing(dir)).to.deep.equal(['a.txt', 'b.txt', 'old.jsonl', 'out.jsonl']);
  });

  it('an output through a symbolic link replaces the link\'s target and keeps the link', () => {
    const target = write(path.join(dir, 'results', 'out.jsonl'), 'previous\n');
    fs.symlinkSync(path.join('results', 'out.jsonl'), path.join(dir, 'out-link'));
    const child = run(['dedup', 'a.txt', 'b.txt', '-o', 'out-link'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(0);
    expect(fs.lstatSync(path.join(dir, 'out-link')).isSymbolicLink()).to.equal(true);
    expect(clustersOf(fs.readFileSync(target, 'utf8')).length).to.equal(1);
  });

  // Run only with the fix: before it, a run as root would have renamed a
  // regular file over /dev/null.
  it('a character device (/dev/null) is written to, not replaced', function () {
    if (!fs.existsSync('/dev/null')) this.skip();
    const child = run(['dedup', 'a.txt', 'b.txt', '-o', '/dev/null', '--keep-first', 'keep.txt'], { cwd: dir });
    expect(child.status, child.stderr).to.equal(0);
    expect(fs.statSync('/dev/null').isCharacterDevice()).to.equal(true);
    expect(keepList(path.join(dir, 'keep.txt'))).to.deep.equal(['a.txt']);
    if (fs.existsSync('/dev/full')) {
      const full = run(['dedup', 'a.txt', 'b.txt', '-o', '/dev/full'], { cwd: dir });
      expect(full.status, full.stderr).to.equal(1);
      expect(full.stderr).to.match(/knowhere-rs: cannot write --output \/dev\/full: ENOSPC/);
      expect(fs.statSync('/dev/full').isCharacterDevice()).to.equal(true);
    }
  });
});

describe('knowhere-rs dedup: FIFOs on the command line (item 4)', function () {
  this.timeout(60_000);
  let dir: string;
  let fifo: string;
  before(function () {
    dir = temporaryDirectory();
    fifo = path.join(dir, 'fifo');
    // mkfifo(1): Node has no mkfifo.
    if (spawnSync('mkfifo', [fifo], { stdio: 'ignore' }).status !== 0) this.skip();
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('a FIFO with no writer: --timeout 1 exits 124 promptly, with no output file', () => {
    const started = performance.now();
    const child = run(['dedup', fifo, '--timeout', '1', '-o', path.join(dir, 'out.jsonl')], { timeoutMs: 30_000 });
    const elapsed = performance.now() - started;
    expect(child.signal, 'killed: the command hung').to.equal(null);
    expect(child.status, child.stderr).to.equal(124);
    expect(child.stderr).to.match(/timed out \(--timeout 1\) while reading after 1\.\d\d s; no output written/);
    expect(listing(dir)).to.deep.equal(['fifo']);
    // Generous: a second of timeout plus Node's start on a loaded machine.
    expect(elapsed).to.be.below(15_000);
  });

  it('a FIFO with no writer: SIGTERM ends the run (exit 143)', async () => {
    const child = start(['dedup', fifo]);
    let stderr = '';
    let signalled = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      // Listed: the command is now reading (waiting on the FIFO).
      if (!signalled && /listing: 1 file/.test(stderr)) {
        signalled = true;
        setTimeout(() => { child.kill('SIGTERM'); }, 300);
      }
    });
    // Without a listing line (a command that prints none), signal anyway.
    const fallback = setTimeout(() => {
      if (!signalled) child.kill('SIGTERM');
      signalled = true;
    }, 5_000);
    const killer = setTimeout(() => { child.kill('SIGKILL'); }, 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.on('exit', (status, sig) => { resolve([status, sig]); });
    });
    clearTimeout(fallback);
    clearTimeout(killer);
    expect(signal, `killed: the command ignored SIGTERM\n${stderr}`).to.equal(null);
    expect(code, stderr).to.equal(143);
    expect(stderr).to.match(/terminated \(SIGTERM\) while reading/);
  });

  it('a FIFO with a writer is read as a document', async () => {
    const copy = path.join(dir, 'copy.txt');
    write(copy, texts[1]!);
    const child = start(['dedup', fifo, copy]);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => { stdout += chunk; });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => { child.on('exit', resolve); });
    const killer = setTimeout(() => { child.kill('SIGKILL'); }, 30_000);
    // Opened for writing without blocking: ENXIO until the command has
    // opened it for reading.
    let fd: number | null = null;
    while (fd === null && child.exitCode === null) {
      try {
        fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    if (fd !== null) {
      fs.writeSync(fd, texts[1]!);
      fs.closeSync(fd);
    }
    const code = await exited;
    clearTimeout(killer);
    fs.rmSync(copy);
    expect(code, stderr).to.equal(0);
    expect(clustersOf(stdout).map((c) => c.members.map((m) => m.name))).to.deep.equal([[fifo, copy]]);
  });

  it('a character device named as input is refused (exit 66), not read', function () {
    if (!fs.existsSync('/dev/null')) this.skip();
    const child = run(['dedup', '/dev/null', '--timeout', '20'], { timeoutMs: 30_000 });
    expect(child.status, child.stderr).to.equal(66);
    expect(child.stderr).to.match(/cannot read \/dev\/null: not a regular file or a FIFO \(a character device\)/);
  });
});


describe('knowhere-rs dedup: --timeout beyond Node\'s timer range (item 5)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = temporaryDirectory();
    write(path.join(dir, 'a.txt'), texts[0]!);
    write(path.join(dir, 'b.txt'), texts[0]!);
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('--timeout 3000000 (over 2^31 ms) and 1e12 do not fire at once', () => {
    for (const seconds of ['3000000', '2147484', '1e12']) {
      const child = run(['dedup', 'a.txt', 'b.txt', '--timeout', seconds], { cwd: dir });
      expect(child.status, `--timeout ${seconds}: ${child.stderr}`).to.equal(0);
      expect(clustersOf(child.stdout).length).to.equal(1);
    }
  });
});

describe('knowhere-rs dedup: file names that are not UTF-8 or hold a newline (item 6)', function () {
  this.timeout(60_000);
  let dir: string;
  let names: Buffer;
  const at = (name: string | Buffer): Buffer => Buffer.concat([names, Buffer.from('/'), Buffer.from(name)]);
  const notUtf8 = Buffer.from([0x30, 0xff, 0x2e, 0x74, 0x78, 0x74]); // "0\xff.txt"
  before(() => {
    dir = temporaryDirectory();
    names = Buffer.from(path.join(dir, 'names'));
    fs.mkdirSync(names);
    fs.writeFileSync(at(notUtf8), texts[2]!);
    fs.writeFileSync(at('a.txt'), texts[2]!);
    fs.writeFileSync(at('c\nd.txt'), texts[3]!);
    fs.writeFileSync(at('"quoted.txt'), texts[4]!);
    fs.writeFileSync(at('e.txt'), texts[5]!);
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('reads a name that is not UTF-8; JSON carries its bytes as \\udcXX, CSV and the keep list as they are', () => {
    const keep = path.join(dir, 'keep.txt');
    const child = run(['dedup', names.toString(), '--keep-first', keep]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.not.include('skipped');
    const clusters = clustersOf(child.stdout);
    expect(clusters.map((c) => c.members.map((m) => m.name))).to.deep.equal(
      [[`${names.toString()}/0\udcff.txt`, `${names.toString()}/a.txt`]]);
    expect(child.stdout).to.include('0\\udcff.txt');
    // Line mode: a name holding a control character (or starting with ")
    // is quoted with C escapes; other names (raw bytes too) are as they are.
    expect(fs.readFileSync(keep)).to.deep.equal(Buffer.concat([
      at('"quoted.txt'), Buffer.from('\n'),
      at(notUtf8), Buffer.from('\n'),
      Buffer.from(`"${names.toString()}/c\\nd.txt"\n`),
      at('e.txt'), Buffer.from('\n'),
    ]));
    const relative = run(['dedup', '"quoted.txt', 'c\nd.txt', '--keep-first', '-'], { cwd: names.toString() });
    expect(relative.status, relative.stderr).to.equal(0);
    expect(relative.stdout).to.equal('"\\"quoted.txt"\n"c\\nd.txt"\n');
    const csv = path.join(dir, 'pairs.csv');
    expect(run(['dedup', names.toString(), '--format', 'pairs-csv', '-o', csv]).status).to.equal(0);
    expect(fs.readFileSync(csv)).to.deep.equal(Buffer.concat([
      Buffer.from('left_index,right_index,left,right,similarity\n1,2,'), at(notUtf8), Buffer.from(','),
      at('a.txt'), Buffer.from(',1\n'),
    ]));
  });

  it('--null writes the keep list NUL-terminated, every name as it is', () => {
    const keep = path.join(dir, 'keep0');
    const child = run(['dedup', names.toString(), '--keep-first', keep, '--null']);
    expect(child.status, child.stderr).to.equal(0);
    expect(fs.readFileSync(keep)).to.deep.equal(Buffer.concat([
      at('"quoted.txt'), Buffer.from([0]), at(notUtf8), Buffer.from([0]), at('c\nd.txt'), Buffer.from([0]),
      at('e.txt'), Buffer.from([0]),
    ]));
  });
});

describe('knowhere-rs dedup: symbolic and hard links (item 7)', function () {
  this.timeout(60_000);
  let dir: string;
  let lic: string;
  before(() => {
    dir = temporaryDirectory();
    lic = path.join(dir, 'lic');
    write(path.join(lic, 'GPL-3'), texts[2]!);
    fs.symlinkSync('GPL-3', path.join(lic, 'GPL'));
    fs.linkSync(path.join(lic, 'GPL-3'), path.join(lic, 'z-hard'));
    write(path.join(lic, 'Apache'), texts[3]!);
    write(path.join(dir, 'elsewhere', 'x.txt'), texts[4]!);
    fs.symlinkSync(path.join('..', 'elsewhere', 'x.txt'), path.join(lic, 'outside'));
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('a file reached through links (symbolic or hard) is one document, named by its own path', () => {
    const keep = path.join(dir, 'keep.txt');
    const child = run(['dedup', lic, path.join(lic, 'GPL-3'), path.join(lic, 'GPL'), '--keep-first', keep]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.equal('');
    expect(child.stderr).to.match(/listing: 3 files, 4 more paths to the same files in /);
    expect(child.stderr).to.match(/reading: 3 documents \(/);
    // The target is kept, not the link: deleting what is not kept leaves
    // no dangling link. A file reached only through a link keeps the link's
    // name (nothing outside the inputs is named).
    expect(keepList(keep)).to.deep.equal(['Apache', 'GPL-3', 'outside'].map((name) => path.join(lic, name)));
  });
});

describe('knowhere-rs dedup: the keep list drops only what a kept document covers (item 8)', function () {
  this.timeout(60_000);
  let dir: string;
  let chain: string;
  let similarityAB: number;
  before(() => {
    dir = temporaryDirectory();
    chain = path.join(dir, 'chain');
    // A ~ B ~ C: B changes 7 words of A, C 7 other words of B, so that
    // J(A, B) and J(B, C) are about 0.87 and J(A, C) about 0.75.
    const a = randomWords(generator(99), 300);
    const b = withChanges(a, 7);
    const c = [...b];
    for (let k = 0; k < 7; k++) c[Math.floor(((k + 0.5) * 300) / 7 + 300 / 14) % 300] = `other${k}`;
    const shingles = [a, b, c].map((words) => wordShingles(words));
    similarityAB = jaccard(shingles[0]!, shingles[1]!);
    expect(similarityAB).to.be.above(0.85);
    expect(jaccard(shingles[1]!, shingles[2]!)).to.be.above(0.85);
    expect(jaccard(shingles[0]!, shingles[2]!)).to.be.below(0.77);
    write(path.join(chain, '1-a.txt'), a.join(' '));
    write(path.join(chain, '2-b.txt'), b.join(' '));
    write(path.join(chain, '3-c.txt'), c.join(' '));
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('A ~ B ~ C with J(A, C) < T: A and C are kept, B is dropped, covered by A', () => {
    const keep = path.join(dir, 'keep.txt');
    const child = run(['dedup', chain, '--verify', 'exact', '--keep-first', keep]);
    expect(child.status, child.stderr).to.equal(0);
    expect(keepList(keep)).to.deep.equal([path.join(chain, '1-a.txt'), path.join(chain, '3-c.txt')]);
    // The clusters say what covers each dropped document.
    const clusters = clustersOf(child.stdout);
    expect(clusters.map((c) => c.members.map((m) => path.basename(m.name)))).to.deep.equal([['1-a.txt', '2-b.txt']]);
    expect(clusters[0]!.members[1]!.similarity).to.be.closeTo(similarityAB, 1e-4);
  });

  it('--clusters components gives the connected components: one cluster, one document kept', () => {
    const keep = path.join(dir, 'keep.txt');
    const child = run(['dedup', chain, '--verify', 'exact', '--keep-first', keep, '--clusters', 'components']);
    expect(child.status, child.stderr).to.equal(0);
    expect(keepList(keep)).to.deep.equal([path.join(chain, '1-a.txt')]);
    expect(clustersOf(child.stdout).map((c) => c.size)).to.deep.equal([3]);
  });
});

describe('knowhere-rs dedup: -q, --include/--exclude and .gz input (item 10)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = temporaryDirectory(); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('-q prints one summary line for the skipped inputs instead of one line each', () => {
    const many = path.join(dir, 'many');
    for (let i = 0; i < 5; i++) write(path.join(many, `bin${i}.dat`), Buffer.from([0x41, 0, i]));
    write(path.join(many, 'empty.txt'), '\n');
    write(path.join(many, 'x.txt'), texts[0]!);
    write(path.join(many, 'y.txt'), texts[0]!);
    const child = run(['dedup', '-q', many]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.equal(
      'knowhere-rs: 6 inputs skipped (binary file: 5, empty document: 1); run without -q to see each\n');
    expect(clustersOf(child.stdout).length).to.equal(1);
    const loud = run(['dedup', many]);
    expect(loud.stderr.split('\n').filter((line) => line.startsWith('knowhere-rs: skipped ')).length).to.equal(6);
  });

  it('--include and --exclude pick the files found in directories; named files are always read', () => {
    const tree = path.join(dir, 'tree');
    const names = ['a.txt', 'b.md', 'sub/c.txt', 'sub/d.log', '.git/e.txt', 'skip/f.txt', 'sub/deep/g.txt'];
    names.forEach((name, i) => write(path.join(tree, name), texts[i]!));
    const read = (...args: string[]): string[] => {
      const keep = path.join(dir, 'keep.txt');
      const child = run(['dedup', ...args, '--keep-first', keep]);
      expect(child.status, child.stderr).to.equal(0);
      return keepList(keep).map((name) => path.relative(tree, name));
    };
    expect(read(tree, '--include', '*.txt', '--exclude', '.git', '--exclude', 'skip/f.*'))
      .to.deep.equal(['a.txt', 'sub/c.txt', 'sub/deep/g.txt']);
    expect(read(tree, '--include', 'sub/**')).to.deep.equal(['sub/c.txt', 'sub/d.log', 'sub/deep/g.txt']);
    expect(read(tree, '--include', 'sub/*.txt')).to.deep.equal(['sub/c.txt']);
    expect(read(tree, '--include', '**/*.txt', '--exclude', 'sub')).to.deep.equal(['.git/e.txt', 'a.txt', 'skip/f.txt']);
    expect(read(tree, '--exclude', '[.s]*')).to.deep.equal(['a.txt', 'b.md']);
    expect(read(path.join(tree, 'b.md'), path.join(tree, 'a.txt'), '--include', '*.txt')).to.deep.equal(['b.md', 'a.txt']);
    const bad = run(['dedup', tree, '--include', '[a-']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/--include \[a-: unterminated \[/);
  });

  it('reads .gz files (plain and JSON Lines); a corrupt .gz is reported and skipped', () => {
    const gz = path.join(dir, 'gz');
    write(path.join(gz, 'a.txt'), texts[6]!);
    write(path.join(gz, 'a-copy.txt.gz'), zlib.gzipSync(texts[6]!));
    write(path.join(gz, 'corrupt.txt.gz'), Buffer.from('this is not gzip at all'));
    write(path.join(gz, 'truncated.txt.gz'), zlib.gzipSync(texts[7]!).subarray(0, 40));
    const child = run(['dedup', gz]);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.match(/skipped .*corrupt\.txt\.gz: corrupt gzip \(incorrect header check\)/);
    expect(child.stderr).to.match(/skipped .*truncated\.txt\.gz: corrupt gzip \(unexpected end of file\)/);
    expect(clustersOf(child.stdout).map((c) => c.members.map((m) => path.basename(m.name))))
      .to.deep.equal([['a-copy.txt.gz', 'a.txt']]);
    // Many at once: no listener-leak warning (16 streams watch the signal).
    const many = path.join(dir, 'many-gz');
    for (let i = 0; i < 24; i++) write(path.join(many, `bad${i}.gz`), Buffer.from('not gzip'));
    const quiet = run(['dedup', '-q', many]);
    expect(quiet.status).to.equal(66);
    expect(quiet.stderr).to.equal('knowhere-rs: 24 inputs skipped (corrupt gzip: 24); run without -q to see each\n' +
      'knowhere-rs: no document to deduplicate (24 inputs skipped); no output written\n');
    const jsonl = write(path.join(dir, 'docs.jsonl.gz'), zlib.gzipSync(
      `${JSON.stringify({ text: texts[6] })}\n${JSON.stringify({ text: texts[6] })}\n`));
    const lines = run(['dedup', '--jsonl', jsonl]);
    expect(lines.status, lines.stderr).to.equal(0);
    expect(clustersOf(lines.stdout).map((c) => c.members.map((m) => m.name))).to.deep.equal(
      [[`${jsonl}:1`, `${jsonl}:2`]]);
  });
});
