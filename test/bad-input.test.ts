/**
 * The bad-input matrix through the binding: for every method of the index,
 * wrong types, NaN / negative / fractional / huge counts, closed handles and
 * files that are not indexes. Each case expects an exact error class,
 * status and message fragment, and after every case the index answers
 * exactly as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { expect } from 'chai';

import { KnowhereError, MinHashLSHIndex, Status } from '../ts/index.ts';
import { clusteredSignatures } from './fixtures/helpers.ts';

const shape = { length: 16, elementSize: 4, bands: 4 };
const size = shape.length * shape.elementSize;
const n = 200;

interface Case {
  readonly name: string;
  readonly call: (index: MinHashLSHIndex) => unknown;
  readonly status: number;
  readonly fragment: string;
}

function expectFailure(call: () => unknown, status: number, fragment: string): void {
  let thrown: unknown = null;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected an exception').to.be.instanceOf(KnowhereError);
  const error = thrown as KnowhereError;
  expect(error.status, error.message).to.equal(status);
  expect(error.message).to.include(fragment);
}

async function expectRejection(call: () => Promise<unknown>, status: number, fragment: string): Promise<void> {
  let thrown: unknown = null;
  try {
    await call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a rejection').to.be.instanceOf(KnowhereError);
  expect((thrown as KnowhereError).status, (thrown as KnowhereError).message).to.equal(status);
  expect((thrown as KnowhereError).message).to.include(fragment);
}

describe('bad input: every index method, exact errors, index unchanged', () => {
  const data = clusteredSignatures(n, shape, 20, 0.2, 99);
  const query = data.subarray(0, size);
  let index: MinHashLSHIndex;
  let answers: string;
  let dir: string;

  const snapshot = (target: MinHashLSHIndex): string => {
    const result = target.batchSearch(data, n, 5);
    return `${target.count}|${result.ids.join(',')}|${result.distances.join(',')}`;
  };

  before(() => {
    index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    answers = snapshot(index);
    dir = mkdtempSync(path.join(tmpdir(), 'knowhere-bad-input-'));
  });
  after(() => {
    index.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(snapshot(index), 'the index changed').to.equal(answers);
  });

  const INVALID = Status.INVALID_ARG;
  const cases: Case[] = [
    // Types the C side cannot see.
    { name: 'build with a string', call: (i) => i.build('abc' as never, 16, 4, 4, true), status: INVALID, fragment: 'data must be a TypedArray' },
    { name: 'build with a plain array', call: (i) => i.build([1, 2, 3] as never, 16, 4, 4, true), status: INVALID, fragment: 'data must be a TypedArray' },
    { name: 'build with withRawData 1', call: (i) => i.build(data, 16, 4, 4, 1 as never), status: INVALID, fragment: 'withRawData must be a boolean' },
    { name: 'search with null query', call: (i) => i.search(null as never, 5), status: INVALID, fragment: 'query must be a TypedArray' },
    { name: 'search with a filter of the wrong type', call: (i) => i.search(query, 5, 'x' as never), status: INVALID, fragment: 'filter must be' },
    { name: 'search with filter.bits beyond its bytes', call: (i) => i.search(query, 5, { bytes: new Uint8Array(1), bits: 9 }), status: INVALID, fragment: 'needs 2 bytes' },
    { name: 'getVectorByIds with strings', call: (i) => i.getVectorByIds(['1'] as never), status: INVALID, fragment: 'ids[0] must be an integer' },
    // Counts: NaN, negative, fractional, infinite, unsafe.
    ...([NaN, -1, 1.5, Infinity, 2 ** 53] as const).flatMap((bad): Case[] => [
      { name: `build with mhVecLength ${bad}`, call: (i) => i.build(data, bad, 4, 4, true), status: INVALID, fragment: 'mhVecLength must be a non-negative integer' },
      { name: `build with elementSize ${bad}`, call: (i) => i.build(data, 16, bad, 4, true), status: INVALID, fragment: 'elementSize must be a non-negative integer' },
      { name: `build with bands ${bad}`, call: (i) => i.build(data, 16, 4, bad, true), status: INVALID, fragment: 'bands must be a non-negative integer' },
      { name: `search with k ${bad}`, call: (i) => i.search(query, bad), status: INVALID, fragment: 'k must be a non-negative integer' },
      { name: `batchSearch with nq ${bad}`, call: (i) => i.batchSearch(data, bad, 5), status: INVALID, fragment: 'nq must be a non-negative integer' },
    ]),
    // What the C library rejects, with its message.
    { name: 'build with element size 0', call: (i) => i.build(data, 16, 0, 4, true), status: INVALID, fragment: 'mh_vec_element_size 0 is not in 1..32' },
    { name: 'build with element size 33', call: (i) => i.build(data, 16, 33, 4, true), status: INVALID, fragment: 'mh_vec_element_size 33' },
    { name: 'build with bands 0', call: (i) => i.build(data, 16, 4, 0, true), status: INVALID, fragment: 'bands must be at least 1' },
    { name: 'build with length 0', call: (i) => i.build(data, 0, 4, 4, true), status: INVALID, fragment: 'mh_vec_length must be at least 1' },
    { name: 'build with a length that does not divide', call: (i) => i.build(data.subarray(0, size + 3), 16, 4, 4, true), status: INVALID, fragment: 'is not a positive multiple' },
    { name: 'build with no data', call: (i) => i.build(new Uint8Array(0), 16, 4, 4, true), status: INVALID, fragment: 'data_len 0' },
    { name: 'add a partial signature', call: (i) => i.add(data.subarray(0, size - 1)), status: INVALID, fragment: 'signature size 64' },
    { name: 'search with k 0', call: (i) => i.search(query, 0), status: INVALID, fragment: 'k must be at least 1' },
    { name: 'search with a short query', call: (i) => i.search(query.subarray(0, size - 4), 5), status: INVALID, fragment: 'query length 60' },
    { name: 'search with a long query', call: (i) => i.search(data.subarray(0, size + 4), 5), status: INVALID, fragment: 'query length 68' },
    { name: 'batchSearch with nq 0', call: (i) => i.batchSearch(data, 0, 5), status: INVALID, fragment: 'nq must be at least 1' },
    { name: 'batchSearch with nq not matching', call: (i) => i.batchSearch(data.subarray(0, 2 * size), 3, 5), status: INVALID, fragment: 'is not 3 queries' },
    { name: 'getVectorByIds with id n', call: (i) => i.getVectorByIds([n]), status: INVALID, fragment: `id ${n} (at position 0)` },
    { name: 'getVectorByIds with id -1', call: (i) => i.getVectorByIds(new BigInt64Array([0n, -1n])), status: INVALID, fragment: 'id -1 (at position 1)' },
    { name: 'numThreads = -1', call: (i) => { i.numThreads = -1; }, status: INVALID, fragment: 'must be a non-negative integer' },
  ];

  for (const c of cases) {
    it(c.name, () => expectFailure(() => c.call(index), c.status, c.fragment));
  }

  it('files: missing, a directory, empty, another format, truncated', () => {
    const missing = path.join(dir, 'missing.idx');
    const empty = path.join(dir, 'empty.idx');
    const text = path.join(dir, 'notes.txt');
    const truncated = path.join(dir, 'truncated.idx');
    writeFileSync(empty, '');
    writeFileSync(text, 'not an index at all\n');
    const bytes = index.serialize();
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 9));
    expectFailure(() => MinHashLSHIndex.load(missing), Status.FILE, 'missing.idx');
    expectFailure(() => MinHashLSHIndex.load(dir), Status.FILE, 'cannot load');
    expectFailure(() => MinHashLSHIndex.load(empty), Status.CORRUPT, '');
    expectFailure(() => MinHashLSHIndex.load(text), Status.CORRUPT, 'magic');
    expectFailure(() => MinHashLSHIndex.load(truncated), Status.CORRUPT, '');
    expectFailure(() => MinHashLSHIndex.deserialize(bytes.subarray(1)), Status.CORRUPT, 'magic');
    expectFailure(() => index.save(path.join(dir, 'no', 'such', 'dir', 'x.idx')), Status.FILE, 'no/such/dir');
  });

  it('async methods reject with the same errors', async () => {
    await expectRejection(() => index.searchAsync(query, 0), INVALID, 'k must be at least 1');
    await expectRejection(() => index.batchSearchAsync(data, 3, 5), INVALID, 'is not 3 queries');
    await expectRejection(() => index.addAsync(data.subarray(0, 5)), INVALID, 'signature size 64');
    await expectRejection(() => MinHashLSHIndex.loadAsync(path.join(dir, 'nope.idx')), Status.FILE, 'nope.idx');
  });

  it('a closed index refuses every method with the same error', async () => {
    const closed = new MinHashLSHIndex();
    closed.build(data, shape.length, shape.elementSize, shape.bands, false);
    closed.close();
    closed.close(); /* idempotent */
    const calls: Array<() => unknown> = [
      () => closed.build(data, 16, 4, 4, true), () => closed.add(data), () => closed.search(query, 1),
      () => closed.batchSearch(data, n, 1), () => closed.getVectorByIds([0]), () => closed.save(path.join(dir, 'c.idx')),
      () => closed.serialize(), () => closed.count, () => closed.memoryUsage, () => closed.numThreads,
    ];
    for (const call of calls) expectFailure(call, INVALID, 'the MinHashLSHIndex is closed');
    await expectRejection(() => closed.searchAsync(query, 1), INVALID, 'the MinHashLSHIndex is closed');
    await expectRejection(() => closed.buildAsync(data, 16, 4, 4, true), INVALID, 'the MinHashLSHIndex is closed');
  });
});
