/**
 * Save / load and serialize / deserialize against the header's contract: a
 * loaded index answers every search exactly as the saved one did; serialize
 * gives the bytes save writes; a missing file is FILE, a truncated or
 * damaged one CORRUPT (checksums cover every byte); a failed or interrupted
 * save leaves neither a partial file nor a temporary one; the async forms
 * are cancellable, report progress and keep the event loop running.
 *
 * Every file goes to a fresh directory under os.tmpdir(), removed after.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { expect } from 'chai';

import {
  InterruptedError, KnowhereError, MinHashLSHIndex, Status, type Progress,
} from '../ts/index.ts';
import {
  bigCount, bigShape, bigSignatures, clusteredSignatures, countTicksDuring, expectKnowhereError, generator,
  rejection, rowOf, signatureBytes, small, smallData, smallIndex, thrown, type Shape,
} from './fixtures/helpers.ts';

function temporaryDirectory(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'knowhere-rs-test-'));
}

interface Accessors {
  count: number;
  mhVecLength: number;
  elementSize: number;
  bands: number;
  rowsPerBand: number;
  hasRawData: boolean;
}

function accessors(index: MinHashLSHIndex): Accessors {
  return {
    count: index.count, mhVecLength: index.mhVecLength, elementSize: index.elementSize, bands: index.bands,
    rowsPerBand: index.rowsPerBand, hasRawData: index.hasRawData,
  };
}

/** Same accessors, and identical answers (ids and distances, bit for bit)
 * to every query, with and without a filter. */
function expectSameIndex(loaded: MinHashLSHIndex, original: MinHashLSHIndex, queries: Uint8Array, nq: number): void {
  expect(accessors(loaded)).to.deep.equal(accessors(original));
  const k = 10;
  const expected = original.batchSearch(queries, nq, k);
  const actual = loaded.batchSearch(queries, nq, k);
  expect([...actual.ids]).to.deep.equal([...expected.ids]);
  expect([...actual.distances]).to.deep.equal([...expected.distances]);
  // The comparison means something: many queries have several hits.
  expect(expected.ids.filter((id) => id >= 0n).length).to.be.above(nq * 2);
  const filter = new Uint8Array(Math.ceil(original.count / 8)).map((_, i) => (i % 3 === 0 ? 0x55 : 0));
  const filteredExpected = original.batchSearch(queries, nq, k, filter);
  const filteredActual = loaded.batchSearch(queries, nq, k, filter);
  expect([...filteredActual.ids]).to.deep.equal([...filteredExpected.ids]);
  if (original.hasRawData) {
    const ids = [0, 1, Math.floor(original.count / 2), original.count - 1];
    expect([...loaded.getVectorByIds(ids)]).to.deep.equal([...original.getVectorByIds(ids)]);
  }
}

/** Reports are monotonic in one phase and end with done === total. */
function expectProgressToTotal(reports: readonly Progress[], phase: Progress['phase']): void {
  expect(reports.length, JSON.stringify(reports)).to.be.at.least(1);
  const last = reports[reports.length - 1]!;
  expect(last.done).to.equal(last.total);
  reports.forEach((report, i) => {
    expect(report.phase).to.equal(phase);
    expect(report.total).to.equal(last.total);
    if (i > 0) expect(report.done).to.be.above(reports[i - 1]!.done);
  });
}

const shapes: Array<{ shape: Shape; withRawData: boolean }> = [
  { shape: { length: 32, elementSize: 2, bands: 8 }, withRawData: true },
  { shape: { length: 30, elementSize: 4, bands: 7 }, withRawData: false }, // 2 trailing values
  { shape: { length: 21, elementSize: 1, bands: 4 }, withRawData: true },
  { shape: { length: 8, elementSize: 32, bands: 16 }, withRawData: false }, // bands clamped to 8
];

describe('MinHashLSHIndex: save and load round trips', () => {
  let dir: string;
  beforeEach(() => { dir = temporaryDirectory(); });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  for (const { shape, withRawData } of shapes) {
    it(`save then load gives the same index: length ${shape.length}, element size ${shape.elementSize}, ` +
       `bands ${shape.bands}, raw data ${withRawData}`, () => {
      const data = clusteredSignatures(600, shape, 15, 0.3, shape.length * 7 + shape.elementSize);
      const queries = clusteredSignatures(200, shape, 15, 0.3, shape.length * 7 + shape.elementSize);
      using original = new MinHashLSHIndex();
      original.build(data, shape.length, shape.elementSize, shape.bands, withRawData);
      const file = path.join(dir, 'index.khrs');
      original.save(file);
      expect(fs.statSync(file).size).to.be.above(0);
      using loaded = MinHashLSHIndex.load(file);
      expect(loaded).to.be.instanceOf(MinHashLSHIndex);
      expectSameIndex(loaded, original, queries, 200);
      expectSameIndex(loaded, original, data, 600);
      expect(fs.readdirSync(dir)).to.deep.equal(['index.khrs']);
    });
  }

  it('serialize then deserialize gives the same index, and serialize gives the bytes save writes', () => {
    const shape = shapes[0]!.shape;
    const data = clusteredSignatures(500, shape, 12, 0.3, 3);
    using original = new MinHashLSHIndex();
    original.build(data, shape.length, shape.elementSize, shape.bands, true);
    const bytes = original.serialize();
    expect(bytes).to.be.instanceOf(Uint8Array);
    expect(bytes.byteLength).to.be.above(500 * signatureBytes(shape)); // raw data is in there
    using copy = MinHashLSHIndex.deserialize(bytes);
    expectSameIndex(copy, original, data, 500);
    // Deterministic, and the same bytes as the file.
    expect(Buffer.from(original.serialize()).equals(Buffer.from(bytes))).to.equal(true);
    const file = path.join(dir, 'same.khrs');
    original.save(file);
    expect(fs.readFileSync(file).equals(Buffer.from(bytes))).to.equal(true);
    // A loaded index saves the same bytes again.
    expect(Buffer.from(copy.serialize()).equals(Buffer.from(bytes))).to.equal(true);
    // The bytes are the caller's: deserialize copied them.
    bytes.fill(0);
    expectSameIndex(copy, original, data, 500);
  });

  it('async save, load, serialize and deserialize round trip as the sync ones do', async () => {
    const shape = shapes[1]!.shape;
    const data = clusteredSignatures(500, shape, 12, 0.3, 4);
    using original = new MinHashLSHIndex();
    original.build(data, shape.length, shape.elementSize, shape.bands, false);
    const file = path.join(dir, 'async.khrs');
    await original.saveAsync(file);
    using loaded = await MinHashLSHIndex.loadAsync(file);
    expectSameIndex(loaded, original, data, 500);
    const bytes = await original.serializeAsync();
    expect(Buffer.from(bytes).equals(fs.readFileSync(file))).to.equal(true);
    using copy = await MinHashLSHIndex.deserializeAsync(bytes);
    expectSameIndex(copy, original, data, 500);
  });

  it('an index built then added to (several raw segments) round trips, and the loaded one can be added to', () => {
    const shape = shapes[0]!.shape;
    const data = clusteredSignatures(900, shape, 20, 0.3, 5);
    const size = signatureBytes(shape);
    using original = new MinHashLSHIndex();
    original.build(data.subarray(0, 300 * size), shape.length, shape.elementSize, shape.bands, true);
    original.add(data.subarray(300 * size, 600 * size));
    const file = path.join(dir, 'added.khrs');
    original.save(file);
    using loaded = MinHashLSHIndex.load(file);
    expectSameIndex(loaded, original, data, 900);
    // Both go on independently: ids continue after the loaded ones.
    loaded.add(data.subarray(600 * size));
    expect(loaded.count).to.equal(900);
    expect(original.count).to.equal(600);
    expect(loaded.search(rowOf(data, shape, 850), 1).ids[0]).to.equal(850n);
    original.add(data.subarray(600 * size));
    expectSameIndex(loaded, original, data, 900);
  });

  it('paths may be strings (UTF-8, relative or not), file: URLs or Buffers', () => {
    const { index } = smallIndex();
    using _ = index;
    const expected = index.serialize();
    const name = 'índice-ß-日本.khrs';
    index.save(path.join(dir, name));
    expect(fs.readdirSync(dir)).to.deep.equal([name]);
    expect(fs.readFileSync(path.join(dir, name)).equals(Buffer.from(expected))).to.equal(true);
    const url = pathToFileURL(path.join(dir, 'from url.khrs'));
    index.save(url);
    const buffer = Buffer.from(path.join(dir, 'from-buffer.khrs'));
    index.save(buffer);
    for (const source of [path.join(dir, name), url, buffer]) {
      using loaded = MinHashLSHIndex.load(source);
      expect(Buffer.from(loaded.serialize()).equals(Buffer.from(expected)), String(source)).to.equal(true);
    }
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      index.save('relative.khrs');
      using loaded = MinHashLSHIndex.load('./relative.khrs');
      expect(loaded.count).to.equal(300);
    } finally {
      process.chdir(cwd);
    }
    expect(fs.existsSync(path.join(dir, 'relative.khrs'))).to.equal(true);
  });

  it('save and serialize are allowed while searches run; never-built and closed indexes are refused', async () => {
    const { index, answers } = smallIndex();
    const searching = index.batchSearchAsync(smallData, 300, 5);
    index.save(path.join(dir, 'during-search.khrs'));
    const bytes = index.serialize();
    const saving = index.saveAsync(path.join(dir, 'concurrent.khrs'));
    expect([...(await searching).ids]).to.deep.equal([...answers.ids]);
    await saving;
    expect(fs.readFileSync(path.join(dir, 'concurrent.khrs')).equals(Buffer.from(bytes))).to.equal(true);
    index.close();
    expectKnowhereError(thrown(() => index.save(path.join(dir, 'x'))), Status.INVALID_ARG, /closed/);
    expectKnowhereError(thrown(() => index.serialize()), Status.INVALID_ARG, /closed/);
    expectKnowhereError(await rejection(index.saveAsync(path.join(dir, 'x'))), Status.INVALID_ARG, /closed/);
    expectKnowhereError(await rejection(index.serializeAsync()), Status.INVALID_ARG, /closed/);
    using empty = new MinHashLSHIndex();
    expectKnowhereError(thrown(() => empty.save(path.join(dir, 'empty.khrs'))), Status.EMPTY_INDEX);
    expectKnowhereError(thrown(() => empty.serialize()), Status.EMPTY_INDEX);
    expectKnowhereError(await rejection(empty.saveAsync(path.join(dir, 'empty.khrs'))), Status.EMPTY_INDEX);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['concurrent.khrs', 'during-search.khrs']);
  });
});

describe('MinHashLSHIndex: save and load keep their buffers alive', () => {
  it('async save, load, serialize and deserialize survive garbage collections mid-call', function () {
    this.timeout(120_000);
    // In a child with --expose-gc: the path bytes, the out-parameters and
    // the input bytes of in-flight calls are unreachable from JS while gc()
    // runs; a missing keep-alive would crash or corrupt the results.
    const dir = temporaryDirectory();
    try {
      const indexUrl = new URL('../ts/index.ts', import.meta.url).href;
      const tsxUrl = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
      const script = `
        const { MinHashLSHIndex } = await import(${JSON.stringify(indexUrl)});
        const path = await import('node:path');
        const n = 3000, size = 64;
        const data = new Uint8Array(n * size);
        for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761 >>> 13) & 0xff;
        const index = new MinHashLSHIndex();
        index.build(data, 64, 1, 8, true);
        const reference = Buffer.from(index.serialize());
        const gcLoop = setInterval(() => globalThis.gc(), 1);
        let checked = 0;
        const round = async (r) => {
          const file = path.join(${JSON.stringify(dir)}, 'gc-' + r + '.khrs');
          await index.saveAsync(file, { onProgress: () => {} });
          const loaded = await MinHashLSHIndex.loadAsync(String(file));
          const bytes = Buffer.from(await loaded.serializeAsync());
          if (!bytes.equals(reference)) throw new Error('round ' + r + ': different bytes');
          const copy = await MinHashLSHIndex.deserializeAsync(bytes.subarray(0));
          if (copy.search(data.slice(r * size, (r + 1) * size), 1).ids[0] !== BigInt(r)) {
            throw new Error('round ' + r + ': wrong answer');
          }
          loaded.close();
          copy.close();
          checked++;
        };
        for (let batch = 0; batch < 5; batch++) {
          const pending = [];
          for (let r = 0; r < 8; r++) pending.push(round(batch * 8 + r));
          globalThis.gc();
          await Promise.all(pending);
        }
        clearInterval(gcLoop);
        index.close();
        process.stdout.write('checked ' + checked);`;
      const child = spawnSync(process.execPath,
        ['--expose-gc', '--import', tsxUrl, '--input-type=module', '-e', script],
        { encoding: 'utf8', timeout: 100_000 });
      expect(child.signal, child.stderr).to.equal(null);
      expect(child.status, child.stderr).to.equal(0);
      expect(child.stdout).to.equal('checked 40');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MinHashLSHIndex: missing, damaged and foreign files', () => {
  let dir: string;
  beforeEach(() => { dir = temporaryDirectory(); });
  afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  /** A tiny index with raw data, so that every byte can be damaged in turn. */
  function tinyBytes(): Uint8Array {
    const shape: Shape = { length: 8, elementSize: 1, bands: 4 };
    using index = new MinHashLSHIndex();
    index.build(clusteredSignatures(20, shape, 4, 0.3, 9), 8, 1, 4, true);
    return index.serialize();
  }

  function expectCorrupt(error: unknown, label: string): void {
    expect(error, label).to.be.instanceOf(KnowhereError);
    expect((error as KnowhereError).status, `${label}: ${(error as Error).message}`).to.equal(Status.CORRUPT);
    expect((error as KnowhereError).code).to.equal('ERR_CORRUPT');
    expect((error as KnowhereError).isInterrupted()).to.equal(false);
    expect((error as KnowhereError).message).to.not.equal('');
  }

  it('loading a missing file or a directory is KnowhereError FILE naming the path', async () => {
    const missing = path.join(dir, 'no-such-file.khrs');
    for (const error of [thrown(() => MinHashLSHIndex.load(missing)),
      await rejection(MinHashLSHIndex.loadAsync(missing))]) {
      expectKnowhereError(error, Status.FILE);
      expect((error as KnowhereError).code).to.equal('ERR_FILE');
      expect((error as KnowhereError).message).to.contain('no-such-file.khrs');
    }
    expectKnowhereError(thrown(() => MinHashLSHIndex.load(dir)), Status.FILE);
  });

  it('saving into a missing directory is KnowhereError FILE naming the path, and writes nothing', async () => {
    const { index } = smallIndex();
    using _ = index;
    const target = path.join(dir, 'missing-dir', 'index.khrs');
    for (const error of [thrown(() => index.save(target)), await rejection(index.saveAsync(target))]) {
      expectKnowhereError(error, Status.FILE);
      expect((error as KnowhereError).message).to.contain('missing-dir');
    }
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  it('a truncated saved file is KnowhereError CORRUPT, at every length tried', async () => {
    const { index } = smallIndex();
    using _ = index;
    const file = path.join(dir, 'whole.khrs');
    index.save(file);
    const whole = fs.readFileSync(file);
    const lengths = [0, 1, 4, 8, 16, 31, 64, Math.floor(whole.length / 2), whole.length - 8, whole.length - 1];
    for (const length of lengths) {
      const truncated = path.join(dir, `truncated-${length}.khrs`);
      fs.writeFileSync(truncated, whole.subarray(0, length));
      expectCorrupt(thrown(() => MinHashLSHIndex.load(truncated)), `file truncated to ${length} bytes`);
      expectCorrupt(thrown(() => MinHashLSHIndex.deserialize(whole.subarray(0, length))),
        `bytes truncated to ${length}`);
    }
    expectCorrupt(await rejection(MinHashLSHIndex.loadAsync(path.join(dir, 'truncated-64.khrs'))), 'async load');
    expectCorrupt(await rejection(MinHashLSHIndex.deserializeAsync(whole.subarray(0, 100))), 'async deserialize');
  });

  it('a saved file with a flipped byte is KnowhereError CORRUPT', () => {
    const { index } = smallIndex();
    using _ = index;
    const file = path.join(dir, 'whole.khrs');
    index.save(file);
    const whole = fs.readFileSync(file);
    const next = generator(2024);
    const positions = [0, 3, 8, 12, 16, 24, 32, 40, 48, 56, 64, Math.floor(whole.length / 2), whole.length - 1];
    for (let i = 0; i < 10; i++) positions.push(next() % whole.length);
    for (const position of positions) {
      const damaged = Buffer.from(whole);
      damaged[position]! ^= 0x10;
      const damagedFile = path.join(dir, `flipped-${position}.khrs`);
      fs.writeFileSync(damagedFile, damaged);
      expectCorrupt(thrown(() => MinHashLSHIndex.load(damagedFile)), `byte ${position} of ${whole.length} flipped`);
    }
  });

  it('every single flipped bit, every truncation and any appended byte of serialized bytes is CORRUPT', () => {
    const bytes = tinyBytes();
    expect(bytes.byteLength).to.be.below(100_000);
    using control = MinHashLSHIndex.deserialize(bytes);
    expect(control.count).to.equal(20);
    for (let position = 0; position < bytes.byteLength; position++) {
      const damaged = bytes.slice();
      damaged[position]! ^= 1 << (position % 8);
      expectCorrupt(thrown(() => MinHashLSHIndex.deserialize(damaged)), `bit flipped in byte ${position}`);
      expectCorrupt(thrown(() => MinHashLSHIndex.deserialize(bytes.subarray(0, position))), `first ${position} bytes`);
    }
    const longer = new Uint8Array(bytes.byteLength + 1);
    longer.set(bytes);
    expectCorrupt(thrown(() => MinHashLSHIndex.deserialize(longer)), 'one byte appended');
  });

  it('bytes that are not a saved index are CORRUPT', async () => {
    const next = generator(7);
    const noise = Uint8Array.from({ length: 4096 }, () => next() & 0xff);
    expectCorrupt(thrown(() => MinHashLSHIndex.deserialize(noise)), 'random bytes');
    expectCorrupt(thrown(() => MinHashLSHIndex.deserialize(new Uint8Array(4096))), 'zeros');
    const text = path.join(dir, 'text.khrs');
    fs.writeFileSync(text, 'this is not an index\n'.repeat(100));
    expectCorrupt(thrown(() => MinHashLSHIndex.load(text)), 'a text file');
    expectCorrupt(await rejection(MinHashLSHIndex.loadAsync(text)), 'a text file, async');
  });

  it('bad path arguments are INVALID_ARG before any file is touched', async () => {
    const { index } = smallIndex();
    using _ = index;
    const cases: Array<[unknown, RegExp]> = [
      [path.join(dir, 'a\0b.khrs'), /NUL/],
      [Buffer.from('x\0y'), /NUL/],
      [42, /path/],
      [null, /path/],
      [new URL('https://example.com/index.khrs'), /path/],
    ];
    for (const [bad, message] of cases) {
      expectKnowhereError(thrown(() => index.save(bad as string)), Status.INVALID_ARG, message);
      expectKnowhereError(thrown(() => MinHashLSHIndex.load(bad as string)), Status.INVALID_ARG, message);
      expectKnowhereError(await rejection(index.saveAsync(bad as string)), Status.INVALID_ARG, message);
      expectKnowhereError(await rejection(MinHashLSHIndex.loadAsync(bad as string)), Status.INVALID_ARG, message);
    }
    expectKnowhereError(thrown(() => MinHashLSHIndex.deserialize([1, 2] as unknown as Uint8Array)),
      Status.INVALID_ARG, /bytes/);
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});

describe('MinHashLSHIndex: async save and load of a large index', function () {
  this.timeout(180_000);
  let dir: string;
  let big: Uint32Array;
  let index: MinHashLSHIndex;
  /** A complete save of `index`, made once (by saved()). */
  let savedFile: string | undefined;
  /** What the directory holds besides savedFile. */
  const otherFiles = (): string[] => fs.readdirSync(dir).filter((name) => path.join(dir, name) !== savedFile);

  before(() => {
    dir = temporaryDirectory();
    big = bigSignatures(777);
    index = new MinHashLSHIndex();
    index.build(big, bigShape.length, bigShape.elementSize, bigShape.bands, true);
    big = new Uint32Array(0); // the index keeps its own copy
  });
  after(() => {
    index.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const name of otherFiles()) fs.rmSync(path.join(dir, name), { force: true });
  });

  /** Row `id` of the big index, as a query. */
  const probe = (id: number): Uint8Array => index.getVectorByIds([id]);

  async function saved(): Promise<string> {
    if (savedFile === undefined) {
      const file = path.join(dir, 'big.khrs');
      await index.saveAsync(file);
      savedFile = file;
    }
    return savedFile;
  }

  it('saveAsync reports phase "save" up to total, and writes only the file', async () => {
    const file = path.join(dir, 'with-progress.khrs');
    const reports: Progress[] = [];
    await index.saveAsync(file, { onProgress: (p) => reports.push(p) });
    expectProgressToTotal(reports, 'save');
    expect(otherFiles()).to.deep.equal(['with-progress.khrs']);
    expect(fs.statSync(file).size).to.be.above(bigCount * signatureBytes(bigShape));
  });

  it('a saveAsync aborted from onProgress\'s first call leaves no file at the path and no temporary file',
    async () => {
      const file = path.join(dir, 'aborted.khrs');
      const controller = new AbortController();
      const reports: Progress[] = [];
      const error = await rejection(index.saveAsync(file, {
        signal: controller.signal,
        onProgress: (p) => {
          reports.push(p);
          controller.abort();
        },
      }));
      expect(reports.length).to.equal(1);
      expect(reports[0]!.done, 'the first report came during the save: make the index bigger')
        .to.be.below(reports[0]!.total);
      expect(error).to.be.instanceOf(InterruptedError);
      expect(fs.existsSync(file)).to.equal(false);
      expect(otherFiles()).to.deep.equal([]);
    });

  it('a saveAsync with an already aborted signal rejects and writes nothing', async () => {
    const file = path.join(dir, 'pre-aborted.khrs');
    const reason = new Error('no');
    const error = await rejection(index.saveAsync(file, { signal: AbortSignal.abort(reason) }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as InterruptedError).cause).to.equal(reason);
    expect(otherFiles()).to.deep.equal([]);
  });

  it('a saveAsync aborted over an existing file leaves that file as it was', async () => {
    const file = path.join(dir, 'existing.khrs');
    const { index: other } = smallIndex();
    using _ = other;
    other.save(file);
    const before = fs.readFileSync(file);
    const controller = new AbortController();
    const error = await rejection(index.saveAsync(file, {
      signal: controller.signal,
      onProgress: () => { controller.abort(); },
    }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect(fs.readFileSync(file).equals(before)).to.equal(true);
    expect(otherFiles()).to.deep.equal(['existing.khrs']);
  });

  it('loadAsync reports phase "load" up to total, keeps the event loop running, and loads the same index',
    async () => {
      const file = await saved();
      const reports: Progress[] = [];
      const { result: loaded, immediates, timers, elapsed } = await countTicksDuring(() =>
        MinHashLSHIndex.loadAsync(file, { onProgress: (p) => reports.push(p) }));
      using _ = loaded;
      expectProgressToTotal(reports, 'load');
      expect(immediates, `${immediates} ticks in ${elapsed.toFixed(0)} ms`).to.be.above(Math.min(20, elapsed / 5));
      expect(timers).to.be.above(0);
      expect(accessors(loaded)).to.deep.equal(accessors(index));
      for (const id of [0, 4321, bigCount - 1]) {
        expect(loaded.search(probe(id), 1).ids[0], `row ${id}`).to.equal(BigInt(id));
      }
      const queries = index.getVectorByIds(Array.from({ length: 2000 }, (_, i) => i * 149));
      const expected = index.batchSearch(queries, 2000, 5);
      const actual = loaded.batchSearch(queries, 2000, 5);
      expect([...actual.ids]).to.deep.equal([...expected.ids]);
      expect([...actual.distances]).to.deep.equal([...expected.distances]);
    });

  it('a loadAsync aborted part way rejects with InterruptedError', async () => {
    const file = await saved();
    const controller = new AbortController();
    const error = await rejection(MinHashLSHIndex.loadAsync(file, {
      signal: controller.signal,
      onProgress: (p) => { if (p.done < p.total) controller.abort(); },
    }));
    expect(error).to.be.instanceOf(InterruptedError);
  });

  it('serializeAsync and deserializeAsync report "save" and "load" and give back the same index', async () => {
    const saves: Progress[] = [];
    const bytes = await index.serializeAsync({ onProgress: (p) => saves.push(p) });
    expectProgressToTotal(saves, 'save');
    expect(Buffer.from(bytes).equals(fs.readFileSync(await saved()))).to.equal(true);
    const loads: Progress[] = [];
    using copy = await MinHashLSHIndex.deserializeAsync(bytes, { onProgress: (p) => loads.push(p) });
    expectProgressToTotal(loads, 'load');
    expect(accessors(copy)).to.deep.equal(accessors(index));
    expect(copy.search(probe(99), 1).ids[0]).to.equal(99n);
  });

  it('while a saveAsync runs: close, add and remove are BUSY, searches and serialize are not', async () => {
    const file = path.join(dir, 'busy.khrs');
    const saving = index.saveAsync(file);
    try {
      expectKnowhereError(thrown(() => index.close()), Status.BUSY, /busy/);
      expectKnowhereError(thrown(() => index.add(probe(0))), Status.BUSY);
      expectKnowhereError(thrown(() => index.remove([0])), Status.BUSY);
      expect(index.search(probe(5), 1).ids[0]).to.equal(5n);
      expect(await index.searchAsync(probe(6), 1)).to.have.property('ids');
    } finally {
      await saving;
    }
    expect(fs.existsSync(file)).to.equal(true);
    // And during an async add, save and serialize are BUSY.
    using growing = new MinHashLSHIndex();
    growing.build(smallData, small.length, small.elementSize, small.bands, true);
    const adding = growing.addAsync(smallData);
    try {
      expectKnowhereError(thrown(() => growing.save(path.join(dir, 'no.khrs'))), Status.BUSY);
      expectKnowhereError(thrown(() => growing.serialize()), Status.BUSY);
      expectKnowhereError(await rejection(growing.saveAsync(path.join(dir, 'no.khrs'))), Status.BUSY);
      expectKnowhereError(await rejection(growing.serializeAsync()), Status.BUSY);
    } finally {
      await adding;
    }
    expect(fs.existsSync(path.join(dir, 'no.khrs'))).to.equal(false);
  });
});
