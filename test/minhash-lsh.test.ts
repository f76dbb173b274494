/**
 * MinHashLSHIndex through the binding, checked against a brute force written
 * here from the contract in knowhere_rs.h (bands, candidates, similarity,
 * ordering, filter), plus the binding's own duties: argument checks,
 * cancellation by AbortSignal, the busy guard, lifetime.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { expect } from 'chai';

import {
  BatchSearchResult, Interrupt, InterruptedError, KnowhereError, MinHashLSHIndex, Status, clusterPairs,
  shingleSimilarities, type SearchResult,
} from '../ts/index.ts';
import {
  clusteredSignatures, countTicksDuring, expectKnowhereError as expectStatus, generator, rowOf, signatureBytes, small,
  thrown as thrownBy, type Shape,
} from './fixtures/helpers.ts';

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

function randomBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  const next = generator(seed);
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Uint8Array(words.buffer, 0, length);
}


// ---------------------------------------------------------------------------
// The contract, brute force
// ---------------------------------------------------------------------------

function equalBytes(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Expected {
  readonly ids: bigint[];
  readonly distances: number[];
  /** Candidates before top-k (after the filter). */
  readonly candidates: number;
}

/**
 * What knowhere_rs.h specifies for one query: candidates share a band (byte
 * for byte) with it; similarity is the fraction of equal values (raw data)
 * or of matching bands; order by similarity desc then id asc; pad -1 / 0.
 */
function bruteForce(data: Uint8Array, shape: Shape, query: Uint8Array, k: number, withRawData: boolean,
                    excluded: (id: number) => boolean = () => false): Expected {
  const size = signatureBytes(shape);
  const n = data.byteLength / size;
  const bands = Math.min(shape.bands, shape.length);
  const bandBytes = Math.floor(shape.length / bands) * shape.elementSize;
  const hits: Array<{ id: number; similarity: number }> = [];
  for (let id = 0; id < n; id++) {
    const row = rowOf(data, shape, id);
    let matchedBands = 0;
    for (let b = 0; b < bands; b++) {
      if (equalBytes(row, query, b * bandBytes, (b + 1) * bandBytes)) matchedBands++;
    }
    if (matchedBands === 0 || excluded(id)) continue;
    let similarity: number;
    if (withRawData) {
      let equalValues = 0;
      for (let p = 0; p < shape.length; p++) {
        if (equalBytes(row, query, p * shape.elementSize, (p + 1) * shape.elementSize)) equalValues++;
      }
      similarity = Math.fround(equalValues / shape.length);
    } else {
      similarity = Math.fround(matchedBands / bands);
    }
    hits.push({ id, similarity });
  }
  hits.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
  const top = hits.slice(0, k);
  return {
    ids: [...top.map((hit) => BigInt(hit.id)), ...Array<bigint>(k - top.length).fill(-1n)],
    distances: [...top.map((hit) => hit.similarity), ...Array<number>(k - top.length).fill(0)],
    candidates: hits.length,
  };
}

function expectResult(actual: SearchResult, expected: Expected, label: string): void {
  expect([...actual.ids], `${label}: ids`).to.deep.equal(expected.ids);
  expect(actual.distances.length, `${label}: distances`).to.equal(expected.distances.length);
  actual.distances.forEach((distance, i) => {
    expect(distance, `${label}: distance ${i}`).to.be.closeTo(expected.distances[i]!, 1e-6);
  });
}

function isExcludedBy(bytes: Uint8Array, bits: number): (id: number) => boolean {
  return (id) => id >= bits || ((bytes[id >> 3]! >> (id & 7)) & 1) === 1;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected the promise to reject');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail('expected an exception');
}

function expectKnowhereError(error: unknown, status: number, message?: RegExp): void {
  expect(error, String(error)).to.be.instanceOf(KnowhereError);
  expect((error as KnowhereError).status, (error as Error).message).to.equal(status);
  expect((error as KnowhereError).message).to.not.equal('');
  if (message !== undefined) expect((error as KnowhereError).message).to.match(message);
}

function sameResults(a: SearchResult, b: SearchResult): void {
  expect([...a.ids]).to.deep.equal([...b.ids]);
  expect([...a.distances]).to.deep.equal([...b.distances]);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('MinHashLSHIndex: build and self-recall', () => {
  const shapes: Array<Shape & { note: string }> = [];
  for (const elementSize of [1, 2, 4, 8, 16, 32]) {
    shapes.push({ length: 24, elementSize, bands: 6, note: 'bands divide the length' });
    shapes.push({ length: 26, elementSize, bands: 5, note: 'bands do not divide the length' });
  }
  shapes.push({ length: 10, elementSize: 4, bands: 16, note: 'more bands than values: clamped' });
  shapes.push({ length: 1, elementSize: 1, bands: 1, note: 'a single value' });

  for (const shape of shapes) {
    for (const withRawData of [true, false]) {
      it(`every signature finds itself first with distance 1: element size ${shape.elementSize}, ` +
         `length ${shape.length}, bands ${shape.bands} (${shape.note}), raw data ${withRawData}`, () => {
        // One value of one byte has only 256 distinct signatures.
        const n = shape.length * shape.elementSize === 1 ? 200 : 300;
        const data = shape.length * shape.elementSize === 1
          ? Uint8Array.from({ length: n }, (_, i) => i)
          : randomBytes(n * signatureBytes(shape), shape.elementSize * 1000 + shape.length);
        using index = new MinHashLSHIndex();
        index.build(data, shape.length, shape.elementSize, shape.bands, withRawData);
        const bands = Math.min(shape.bands, shape.length);
        expect(index.count).to.equal(n);
        expect(index.mhVecLength).to.equal(shape.length);
        expect(index.elementSize).to.equal(shape.elementSize);
        expect(index.bands).to.equal(bands);
        expect(index.rowsPerBand).to.equal(Math.floor(shape.length / bands));
        expect(index.hasRawData).to.equal(withRawData);

        const batch = index.batchSearch(data, n, 3);
        for (let id = 0; id < n; id++) {
          const row = batch.row(id);
          expect(row.ids[0], `row ${id}`).to.equal(BigInt(id));
          expect(row.distances[0], `row ${id}`).to.equal(1);
        }
        // And through single searches, for a few rows.
        for (const id of [0, 7, n - 1]) {
          const result = index.search(rowOf(data, shape, id), 1);
          expect(result.ids[0]).to.equal(BigInt(id));
          expect(result.distances[0]).to.equal(1);
        }
      });
    }
  }
});

describe('MinHashLSHIndex: input arrays', () => {
  const shape: Shape = { length: 16, elementSize: 4, bands: 4 };
  const n = 200;
  const bytes = clusteredSignatures(n, shape, 10, 0.3, 11);

  it('Uint8Array, Uint32Array, BigUint64Array and DataView views of the same bytes give identical results', () => {
    // Copies at an offset, so views with a non-zero byteOffset are covered.
    const shifted = new Uint8Array(bytes.byteLength + 64);
    shifted.set(bytes, 64);
    const views = {
      Uint8Array: bytes,
      Uint32Array: new Uint32Array(shifted.buffer, 64, bytes.byteLength / 4),
      BigUint64Array: new BigUint64Array(shifted.buffer, 64, bytes.byteLength / 8),
      DataView: new DataView(shifted.buffer, 64, bytes.byteLength),
    };
    const results = new Map<string, BatchSearchResult>();
    for (const [name, view] of Object.entries(views)) {
      using index = new MinHashLSHIndex();
      index.build(view, shape.length, shape.elementSize, shape.bands, true);
      expect(index.count, name).to.equal(n);
      results.set(name, index.batchSearch(view, n, 8));
      expect([...index.getVectorByIds([3, 150])], name).to.deep.equal(
        [...rowOf(bytes, shape, 3), ...rowOf(bytes, shape, 150)]);
    }
    const reference = results.get('Uint8Array')!;
    for (const [name, result] of results) {
      expect([...result.ids], name).to.deep.equal([...reference.ids]);
      expect([...result.distances], name).to.deep.equal([...reference.distances]);
    }
    // The results are not trivial: some rows have several candidates.
    expect(reference.ids.filter((id) => id >= 0n).length).to.be.above(n * 2);
  });

  it('the element size is independent of the array type', () => {
    // The same 64 bytes per signature read as 64 x 1 byte or 16 x 4 bytes.
    using bytesIndex = new MinHashLSHIndex();
    using wordsIndex = new MinHashLSHIndex();
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    bytesIndex.build(words, 64, 1, 4, true);
    wordsIndex.build(bytes, 16, 4, 4, true);
    expect(bytesIndex.mhVecLength).to.equal(64);
    expect(bytesIndex.elementSize).to.equal(1);
    expect(wordsIndex.mhVecLength).to.equal(16);
    expect(wordsIndex.elementSize).to.equal(4);
    const query = rowOf(bytes, shape, 5);
    expectResult(bytesIndex.search(query, 10),
      bruteForce(bytes, { length: 64, elementSize: 1, bands: 4 }, query, 10, true), 'as bytes');
    expectResult(wordsIndex.search(query, 10), bruteForce(bytes, shape, query, 10, true), 'as words');
  });
});

describe('MinHashLSHIndex: ranking equals brute force over the candidates', () => {
  const cases: Array<{ shape: Shape; withRawData: boolean }> = [
    { shape: { length: 32, elementSize: 2, bands: 8 }, withRawData: true },
    { shape: { length: 30, elementSize: 4, bands: 7 }, withRawData: true }, // 2 trailing values
    { shape: { length: 32, elementSize: 2, bands: 8 }, withRawData: false },
    { shape: { length: 21, elementSize: 1, bands: 4 }, withRawData: false },
  ];
  for (const { shape, withRawData } of cases) {
    it(`length ${shape.length}, element size ${shape.elementSize}, bands ${shape.bands}, raw data ${withRawData}`,
      () => {
        const n = 400;
        const data = clusteredSignatures(n, shape, 12, 0.3, shape.length + shape.bands);
        const queries = clusteredSignatures(40, shape, 12, 0.3, shape.length + shape.bands); // same families
        using index = new MinHashLSHIndex();
        index.build(data, shape.length, shape.elementSize, shape.bands, withRawData);
        let candidates = 0;
        let rankedRows = 0;
        for (let q = 0; q < 40; q++) {
          const query = rowOf(queries, shape, q);
          const expected = bruteForce(data, shape, query, 25, withRawData);
          expectResult(index.search(query, 25), expected, `query ${q}`);
          candidates += expected.candidates;
          if (new Set(expected.distances.filter((d) => d > 0)).size > 1) rankedRows++;
        }
        // The data make the comparison meaningful: many candidates, with
        // different similarities to order.
        expect(candidates).to.be.above(40 * 5);
        expect(rankedRows).to.be.above(10);
      });
  }

  it('k larger than the candidates pads with id -1 and distance 0', () => {
    const shape: Shape = { length: 16, elementSize: 1, bands: 4 };
    const data = randomBytes(50 * 16, 5);
    using index = new MinHashLSHIndex();
    index.build(data, 16, 1, 4, true);
    const result = index.search(rowOf(data, shape, 9), 6);
    expect([...result.ids]).to.deep.equal([9n, -1n, -1n, -1n, -1n, -1n]);
    expect([...result.distances]).to.deep.equal([1, 0, 0, 0, 0, 0]);
  });

  it('a never-built index answers with empty slots', () => {
    using index = new MinHashLSHIndex();
    expect(index.count).to.equal(0);
    const result = index.search(new Uint8Array(8), 3);
    expect([...result.ids]).to.deep.equal([-1n, -1n, -1n]);
    expect([...result.distances]).to.deep.equal([0, 0, 0]);
  });
});

describe('MinHashLSHIndex: filter bitsets', () => {
  const shape: Shape = { length: 32, elementSize: 2, bands: 8 };
  const n = 300;
  const data = clusteredSignatures(n, shape, 6, 0.3, 99);
  const queries = clusteredSignatures(20, shape, 6, 0.3, 99);

  it('a set bit excludes its id', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const query = rowOf(queries, shape, 0);
    const unfiltered = index.search(query, 10);
    expect(unfiltered.ids[0]! >= 0n && unfiltered.ids[2]! >= 0n, 'the query needs candidates').to.equal(true);
    const bytes = new Uint8Array(Math.ceil(n / 8));
    for (const id of [unfiltered.ids[0]!, unfiltered.ids[2]!]) bytes[Number(id) >> 3]! |= 1 << (Number(id) & 7);
    const filter = { bytes, bits: n };
    const filtered = index.search(query, 10, filter);
    expect([...filtered.ids]).to.not.include(unfiltered.ids[0]);
    expect([...filtered.ids]).to.not.include(unfiltered.ids[2]);
    expect(filtered.ids[0]).to.equal(unfiltered.ids[1]);
    expectResult(filtered, bruteForce(data, shape, query, 10, true, isExcludedBy(bytes, n)), 'filtered');
  });

  it('ids at or beyond the bitset size are excluded', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const bits = 123; // not a multiple of 8
    const bytes = new Uint8Array(Math.ceil(bits / 8));
    let sawExclusion = false;
    for (let q = 0; q < 20; q++) {
      const query = rowOf(queries, shape, q);
      const result = index.search(query, 15, { bytes, bits });
      expect([...result.ids].every((id) => id < BigInt(bits))).to.equal(true);
      expectResult(result, bruteForce(data, shape, query, 15, true, isExcludedBy(bytes, bits)), `query ${q}`);
      if (bruteForce(data, shape, query, 15, true).ids.some((id) => id >= BigInt(bits))) sawExclusion = true;
    }
    expect(sawExclusion, 'some unfiltered result lies beyond the bitset').to.equal(true);
  });

  it('a bare Uint8Array has byteLength * 8 bits, and an all-clear full-size bitset filters nothing', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const query = rowOf(queries, shape, 3);
    const short = new Uint8Array(10); // 80 bits
    expectResult(index.search(query, 12, short), bruteForce(data, shape, query, 12, true, (id) => id >= 80), 'short');
    sameResults(index.search(query, 12, new Uint8Array(Math.ceil(n / 8))), index.search(query, 12));
  });

  it('filters apply to batch and async searches alike', async () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const bytes = randomBytes(Math.ceil(n / 8), 4); // about half the ids excluded
    const filter = { bytes, bits: n };
    const batch = index.batchSearch(queries, 20, 9, filter);
    const asyncBatch = await index.batchSearchAsync(queries, 20, 9, { filter });
    for (let q = 0; q < 20; q++) {
      const expected = bruteForce(data, shape, rowOf(queries, shape, q), 9, true, isExcludedBy(bytes, n));
      expectResult(batch.row(q), expected, `batch row ${q}`);
      expectResult(asyncBatch.row(q), expected, `async batch row ${q}`);
    }
    sameResults(await index.searchAsync(rowOf(queries, shape, 4), 9, { filter }),
      index.search(rowOf(queries, shape, 4), 9, filter));
  });

  it('a filter whose bits exceed its bytes is rejected before C reads past it', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const query = rowOf(queries, shape, 0);
    expectKnowhereError(thrown(() => index.search(query, 5, { bytes: new Uint8Array(2), bits: 17 })),
      Status.INVALID_ARG, /filter\.bits/);
    expectKnowhereError(thrown(() => index.search(query, 5, { bytes: new Uint8Array(2), bits: -1 })),
      Status.INVALID_ARG, /filter\.bits/);
    expectKnowhereError(thrown(() => index.search(query, 5, [1, 2] as unknown as Uint8Array)),
      Status.INVALID_ARG, /filter/);
  });
});

describe('MinHashLSHIndex: remove', () => {
  const shape: Shape = { length: 32, elementSize: 2, bands: 8 };
  const n = 300;
  const data = clusteredSignatures(n, shape, 6, 0.3, 99);
  const queries = clusteredSignatures(40, shape, 6, 0.3, 99);
  const removedIds = Array.from({ length: n }, (_, id) => id).filter((id) => id % 5 === 2 || id < 12);

  it('removed ids leave every result: search equals brute force with them filtered out', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    expect(index.remove(removedIds)).to.equal(removedIds.length);
    expect(index.remove(BigInt64Array.of(2n, 7n))).to.equal(0); /* already removed */
    expect(index.removedCount).to.equal(removedIds.length);
    expect(index.count).to.equal(n);
    const removed = new Set(removedIds);
    let found = 0;
    for (let q = 0; q < 40; q++) {
      const query = rowOf(queries, shape, q);
      const result = index.search(query, 10);
      expectResult(result, bruteForce(data, shape, query, 10, true, (id) => removed.has(id)), `query ${q}`);
      found += result.ids.filter((id) => id >= 0n).length;
    }
    expect(found, 'the queries find rows that are not removed').to.be.above(40);
    const join = index.selfJoin(0.3);
    expect(join.count).to.be.above(0);
    for (let p = 0; p < join.count; p++) {
      expect(removed.has(Number(join.left[p])) || removed.has(Number(join.right[p]))).to.equal(false);
    }
    expectKnowhereError(thrown(() => index.getVectorByIds([2])), Status.INVALID_ARG, /id 2 \(at position 0\) was removed/);
  });

  it('serialize and deserialize keep the removals; add keeps them; build clears them', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    index.remove(removedIds);
    using copy = MinHashLSHIndex.deserialize(index.serialize());
    expect(copy.removedCount).to.equal(removedIds.length);
    const query = rowOf(data, shape, 2); /* a removed row: not found, even exactly */
    expect([...copy.search(query, 10).ids]).to.not.include(2n);
    expect(copy.search(query, 10)).to.deep.equal(index.search(query, 10));
    index.add(rowOf(data, shape, 2)); /* the same signature again, as a new row */
    expect(index.removedCount).to.equal(removedIds.length);
    expect(index.search(query, 1).ids[0]).to.equal(BigInt(n));
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    expect(index.removedCount).to.equal(0);
    expect(index.search(query, 1).ids[0]).to.equal(2n);
  });

  it('bad ids are INVALID_ARG and change nothing; a never-built index is EMPTY_INDEX', () => {
    using index = new MinHashLSHIndex();
    expectKnowhereError(thrown(() => index.remove([0])), Status.EMPTY_INDEX, /remove needs a built index/);
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    expectKnowhereError(thrown(() => index.remove([3, n])), Status.INVALID_ARG, /id 300 \(at position 1\) is not in 0\.\.299/);
    expectKnowhereError(thrown(() => index.remove([1.5])), Status.INVALID_ARG, /ids\[0\] must be an integer/);
    expect(index.removedCount).to.equal(0);
  });

  it('ids beyond int64 are INVALID_ARG naming them, never wrapped to another row (2^64 + 3 is not 3)', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const cases: [readonly (number | bigint)[], RegExp][] = [
      [[2n ** 64n + 3n], /ids\[0\] must be an integer in -2\^63\.\.2\^63-1, got 18446744073709551619n/],
      [[1n, 2n ** 63n], /ids\[1\] must be an integer in -2\^63\.\.2\^63-1, got 9223372036854775808n/],
      [[-(2n ** 63n) - 1n], /ids\[0\] must be an integer in -2\^63\.\.2\^63-1, got -9223372036854775809n/],
    ];
    for (const [ids, message] of cases) {
      expectKnowhereError(thrown(() => index.remove(ids)), Status.INVALID_ARG, message);
      expectKnowhereError(thrown(() => index.getVectorByIds(ids)), Status.INVALID_ARG, message);
    }
    expect(index.removedCount, 'nothing was removed').to.equal(0);
    expect(index.search(rowOf(data, shape, 3), 1).ids[0]).to.equal(3n);
    // The same check guards every other id list (pairs to cluster or to verify).
    expectKnowhereError(thrown(() => clusterPairs(4, [0n], [2n ** 64n + 1n])), Status.INVALID_ARG,
      /right\[0\] must be an integer in -2\^63\.\.2\^63-1/);
    expectKnowhereError(thrown(() => shingleSimilarities(['a b c', 'a b d'], [2n ** 64n], [1])), Status.INVALID_ARG,
      /left\[0\] must be an integer in -2\^63\.\.2\^63-1/);
  });
});

describe('MinHashLSHIndex: batch search', () => {
  const shape: Shape = { length: 24, elementSize: 4, bands: 6 };
  const data = clusteredSignatures(500, shape, 20, 0.25, 3);
  const queries = clusteredSignatures(64, shape, 20, 0.25, 3);

  it('batch search equals single searches row by row, and rows are views into the flat arrays', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const batch = index.batchSearch(queries, 64, 7);
    expect(batch.nq).to.equal(64);
    expect(batch.k).to.equal(7);
    expect(batch.ids).to.be.instanceOf(BigInt64Array);
    expect(batch.distances).to.be.instanceOf(Float32Array);
    expect(batch.ids.length).to.equal(64 * 7);
    let found = 0;
    for (let q = 0; q < 64; q++) {
      const single = index.search(rowOf(queries, shape, q), 7);
      const row = batch.row(q);
      sameResults(row, single);
      expect([...row.ids]).to.deep.equal([...batch.ids.subarray(q * 7, q * 7 + 7)]);
      found += single.ids.filter((id) => id >= 0n).length;
    }
    expect(found).to.be.above(64);
    expect(batch.row(3).ids.buffer).to.equal(batch.ids.buffer);
    expectKnowhereError(thrown(() => batch.row(64)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => batch.row(-1)), Status.INVALID_ARG);
  });

  it('async searches give the same answers as sync ones, and may overlap', async () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const pending = [
      index.batchSearchAsync(queries, 64, 5),
      index.searchAsync(rowOf(queries, shape, 1), 5),
      index.searchAsync(rowOf(queries, shape, 2), 5),
    ];
    // A sync search while async ones are in flight is allowed too.
    sameResults(index.search(rowOf(queries, shape, 1), 5), index.search(rowOf(queries, shape, 1), 5));
    const [batch, first, second] = await Promise.all(pending) as [BatchSearchResult, SearchResult, SearchResult];
    const syncBatch = index.batchSearch(queries, 64, 5);
    expect([...batch.ids]).to.deep.equal([...syncBatch.ids]);
    expect([...batch.distances]).to.deep.equal([...syncBatch.distances]);
    sameResults(first, syncBatch.row(1));
    sameResults(second, syncBatch.row(2));
  });
});

describe('MinHashLSHIndex: getVectorByIds and add', () => {
  const shape: Shape = { length: 12, elementSize: 8, bands: 3 };
  const data = randomBytes(100 * 96, 21);

  it('getVectorByIds returns the raw signatures in the order asked', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    const expected = [...rowOf(data, shape, 5), ...rowOf(data, shape, 0), ...rowOf(data, shape, 99),
      ...rowOf(data, shape, 5)];
    expect([...index.getVectorByIds([5, 0, 99, 5])]).to.deep.equal(expected);
    expect([...index.getVectorByIds(BigInt64Array.of(5n, 0n, 99n, 5n))]).to.deep.equal(expected);
    expect(index.getVectorByIds([])).to.be.instanceOf(Uint8Array);
    expect(index.getVectorByIds([]).byteLength).to.equal(0);
  });

  it('getVectorByIds rejects an id outside 0..count-1 with INVALID_ARG naming it', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    expectKnowhereError(thrown(() => index.getVectorByIds([1, 100])), Status.INVALID_ARG, /100/);
    expectKnowhereError(thrown(() => index.getVectorByIds([-1])), Status.INVALID_ARG, /-1/);
    expectKnowhereError(thrown(() => index.getVectorByIds([1.5])), Status.INVALID_ARG, /ids\[0\]/);
  });

  it('getVectorByIds needs raw data', () => {
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, false);
    expectKnowhereError(thrown(() => index.getVectorByIds([1])), Status.INVALID_ARG);
  });

  it('add appends signatures whose ids continue after the built ones', async () => {
    using index = new MinHashLSHIndex();
    index.build(data.subarray(0, 60 * 96), shape.length, shape.elementSize, shape.bands, true);
    const before = index.memoryUsage;
    expect(before).to.be.above(0);
    index.add(data.subarray(60 * 96, 80 * 96));
    await index.addAsync(data.subarray(80 * 96));
    expect(index.count).to.equal(100);
    expect(index.memoryUsage).to.be.above(before);
    for (const id of [0, 59, 60, 79, 80, 99]) {
      const result = index.search(rowOf(data, shape, id), 1);
      expect(result.ids[0], `row ${id}`).to.equal(BigInt(id));
    }
    expect([...index.getVectorByIds([99])]).to.deep.equal([...rowOf(data, shape, 99)]);
  });

  it('add on a never-built index is EMPTY_INDEX', async () => {
    using index = new MinHashLSHIndex();
    expectKnowhereError(thrown(() => index.add(data)), Status.EMPTY_INDEX);
    expectKnowhereError(await rejection(index.addAsync(data)), Status.EMPTY_INDEX);
    expectKnowhereError(thrown(() => index.compact()), Status.EMPTY_INDEX);
    expectKnowhereError(await rejection(index.compactAsync()), Status.EMPTY_INDEX);
  });

  it('compact merges the added rows into the tables without changing an answer or the saved bytes', async () => {
    using grown = new MinHashLSHIndex();
    grown.build(data.subarray(0, 30 * 96), shape.length, shape.elementSize, shape.bands, true);
    grown.add(data.subarray(30 * 96));
    const saved = grown.serialize();
    const answers = grown.batchSearch(data, 100, 5);
    const added = grown.memoryUsage;
    await grown.compactAsync({ signal: AbortSignal.timeout(60_000) });
    grown.compact(); // nothing left to merge
    expect(grown.memoryUsage).to.be.below(added); // the deltas are gone
    expect(grown.batchSearch(data, 100, 5)).to.deep.equal(answers);
    expect(Buffer.from(grown.serialize()).equals(Buffer.from(saved))).to.equal(true);
  });
});

describe('MinHashLSHIndex: bad inputs', () => {
  const shape: Shape = { length: 8, elementSize: 4, bands: 2 };
  const data = randomBytes(50 * 32, 8);

  it('the C library rejects inconsistent sizes with INVALID_ARG and its own message', () => {
    using index = new MinHashLSHIndex();
    expectKnowhereError(thrown(() => index.build(data.subarray(0, 33), 8, 4, 2, true)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.build(new Uint8Array(0), 8, 4, 2, true)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.build(data, 8, 0, 2, true)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.build(data, 8, 33, 2, true)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.build(data, 0, 4, 2, true)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.build(data, 8, 4, 0, true)), Status.INVALID_ARG);
    index.build(data, 8, 4, 2, true);
    const query = rowOf(data, shape, 0);
    expectKnowhereError(thrown(() => index.search(query, 0)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.search(query.subarray(0, 31), 1)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.batchSearch(data.subarray(0, 64), 0, 1)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.batchSearch(data.subarray(0, 64), 3, 1)), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => index.add(data.subarray(0, 31))), Status.INVALID_ARG);
  });

  it('numbers that are not non-negative integers are rejected in TS, naming the parameter', () => {
    using index = new MinHashLSHIndex();
    const cases: Array<[() => unknown, RegExp]> = [
      [() => index.build(data, NaN, 4, 2, true), /mhVecLength/],
      [() => index.build(data, 8, -4, 2, true), /elementSize/],
      [() => index.build(data, 8, 4, 2.5, true), /bands/],
      [() => index.build(data, 8, 4, Infinity, true), /bands/],
      [() => index.build(data, '8' as unknown as number, 4, 2, true), /mhVecLength/],
      [() => index.build(data, 8, 4, 2, 1 as unknown as boolean), /withRawData/],
      [() => index.build([1, 2, 3] as unknown as Uint8Array, 1, 1, 1, true), /data/],
      [() => index.search(rowOf(data, shape, 0), NaN), /\bk\b/],
      [() => index.search(rowOf(data, shape, 0), -1), /\bk\b/],
      [() => index.batchSearch(data, -2, 1), /nq/],
      [() => index.buildWithInterrupt(data, 8, 4, 2, true, {} as Interrupt), /interrupt/],
    ];
    for (const [call, message] of cases) expectKnowhereError(thrown(call), Status.INVALID_ARG, message);
    expectKnowhereError(thrown(() => { index.numThreads = -1; }), Status.INVALID_ARG, /numThreads/);
  });

  it('async methods reject (never throw synchronously) with the same errors', async () => {
    using index = new MinHashLSHIndex();
    const promise = index.buildAsync(data, NaN, 4, 2, true);
    expect(promise).to.be.instanceOf(Promise);
    expectKnowhereError(await rejection(promise), Status.INVALID_ARG, /mhVecLength/);
    expectKnowhereError(await rejection(index.buildAsync(data, 8, 33, 2, true)), Status.INVALID_ARG);
    index.build(data, 8, 4, 2, true);
    expectKnowhereError(await rejection(index.searchAsync(rowOf(data, shape, 0), 0)), Status.INVALID_ARG);
  });

  it('a failed build leaves the index exactly as it was', () => {
    using index = new MinHashLSHIndex();
    index.build(data, 8, 4, 2, true);
    const before = index.batchSearch(data, 50, 4);
    expect(() => index.build(data.subarray(0, 33), 8, 4, 2, false)).to.throw(KnowhereError);
    expect(index.count).to.equal(50);
    expect(index.hasRawData).to.equal(true);
    const after = index.batchSearch(data, 50, 4);
    expect([...after.ids]).to.deep.equal([...before.ids]);
    expect([...after.distances]).to.deep.equal([...before.distances]);
  });
});

describe('MinHashLSHIndex: cancellation', function () {
  this.timeout(120_000);
  // 300k signatures of 128 x uint32 (150 MiB), 16 bands: long enough to
  // cancel in the middle of the build.
  const bigCount = 300_000;
  const bigShape: Shape = { length: 128, elementSize: 4, bands: 16 };
  let big: Uint32Array;
  const small: Shape = { length: 16, elementSize: 4, bands: 4 };
  const smallData = clusteredSignatures(300, small, 10, 0.3, 77);

  before(() => {
    big = new Uint32Array(bigCount * bigShape.length);
    const next = generator(12345);
    for (let i = 0; i < big.length; i++) big[i] = next();
  });

  /** An index over smallData and its answers to every row. */
  function smallIndex(): { index: MinHashLSHIndex; answers: BatchSearchResult } {
    const index = new MinHashLSHIndex();
    index.build(smallData, small.length, small.elementSize, small.bands, true);
    return { index, answers: index.batchSearch(smallData, 300, 5) };
  }

  function expectUnchanged(index: MinHashLSHIndex, answers: BatchSearchResult): void {
    expect(index.count).to.equal(300);
    expect(index.mhVecLength).to.equal(small.length);
    const now = index.batchSearch(smallData, 300, 5);
    expect([...now.ids]).to.deep.equal([...answers.ids]);
    expect([...now.distances]).to.deep.equal([...answers.distances]);
  }

  it('an AbortSignal aborting an async build rejects with InterruptedError and the index answers as before',
    async () => {
      const { index, answers } = smallIndex();
      using _ = index;
      const controller = new AbortController();
      const reason = new Error('user cancelled');
      let abortedAt = 0;
      setTimeout(() => {
        abortedAt = performance.now();
        controller.abort(reason);
      }, 15);
      const error = await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands,
        false, { signal: controller.signal }));
      const settledAt = performance.now();
      expect(abortedAt, 'the build finished before the abort: make the data bigger').to.be.above(0);
      expect(error).to.be.instanceOf(InterruptedError);
      expect((error as InterruptedError).status).to.equal(Status.INTERRUPTED);
      expect((error as InterruptedError).isInterrupted()).to.equal(true);
      expect((error as InterruptedError).cause).to.equal(reason);
      expect(settledAt - abortedAt, 'the build stopped soon after the abort').to.be.below(1000);
      expectUnchanged(index, answers);
    });

  it('an already aborted signal rejects with InterruptedError (cause: its reason) before any native work',
    async () => {
      const { index, answers } = smallIndex();
      using _ = index;
      const reason = new Error('too late');
      const error = await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands,
        false, { signal: AbortSignal.abort(reason) }));
      expect(error).to.be.instanceOf(InterruptedError);
      expect(error).to.not.equal(reason);
      expect((error as InterruptedError).status).to.equal(Status.INTERRUPTED);
      expect((error as InterruptedError).isTimeout()).to.equal(false);
      expect((error as InterruptedError).cause).to.equal(reason);
      expectUnchanged(index, answers);
      // The same shape from every async method.
      const signal = AbortSignal.abort(reason);
      for (const call of [
        () => index.addAsync(smallData, { signal }),
        () => index.searchAsync(rowOf(smallData, small, 0), 1, { signal }),
        () => index.batchSearchAsync(smallData, 300, 1, { signal }),
      ]) {
        const rejected = await rejection(call());
        expect(rejected).to.be.instanceOf(InterruptedError);
        expect((rejected as InterruptedError).cause).to.equal(reason);
      }
      expectUnchanged(index, answers);
    });

  it('a signal given with an Interrupt sets that Interrupt when it aborts', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    using cancel = new Interrupt();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 15);
    const error = await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands,
      true, { signal: controller.signal, interrupt: cancel }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as InterruptedError).cause).to.be.instanceOf(DOMException); // the default reason
    expect(cancel.isInterrupted()).to.equal(true);
    expectUnchanged(index, answers);
  });

  it('an Interrupt set from a timer cancels an async build (no signal, no cause)', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    using cancel = new Interrupt();
    setTimeout(() => cancel.interrupt(), 15);
    const error = await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands,
      false, { interrupt: cancel }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as InterruptedError).cause).to.equal(undefined);
    expectUnchanged(index, answers);
  });

  it('closing the caller\'s Interrupt during an async build is safe (the call holds its own handle)', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    const cancel = new Interrupt();
    const promise = index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands, false,
      { interrupt: cancel.clone() });
    const clone = cancel.clone();
    cancel.close();
    setTimeout(() => { clone.interrupt(); clone.close(); }, 15);
    expect(await rejection(promise)).to.be.instanceOf(InterruptedError);
    expectUnchanged(index, answers);
  });

  it('a set Interrupt stops sync and async calls on entry with InterruptedError', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    using cancel = Interrupt.withState(true);
    const query = rowOf(smallData, small, 0);
    expect(thrown(() => index.buildWithInterrupt(smallData, 16, 4, 4, false, cancel))).to.be.instanceOf(InterruptedError);
    expect(thrown(() => index.addWithInterrupt(smallData, cancel))).to.be.instanceOf(InterruptedError);
    expect(thrown(() => index.searchWithInterrupt(query, 3, null, cancel))).to.be.instanceOf(InterruptedError);
    expect(thrown(() => index.batchSearchWithInterrupt(smallData, 300, 3, null, cancel)))
      .to.be.instanceOf(InterruptedError);
    expect(await rejection(index.batchSearchAsync(smallData, 300, 3, { interrupt: cancel })))
      .to.be.instanceOf(InterruptedError);
    expect(await rejection(index.searchAsync(query, 3, { interrupt: cancel }))).to.be.instanceOf(InterruptedError);
    cancel.reset();
    sameResults(index.searchWithInterrupt(query, 5, null, cancel), answers.row(0));
    expectUnchanged(index, answers);
  });

  it('the event loop keeps running during an async build', async () => {
    using index = new MinHashLSHIndex();
    const { immediates, timers, elapsed } = await countTicksDuring(() =>
      index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands, false));
    expect(index.count).to.equal(bigCount);
    expect(immediates, `${immediates} ticks in ${elapsed.toFixed(0)} ms`).to.be.above(20);
    expect(timers).to.be.above(0);
    const probe = new Uint8Array(big.buffer, 4321 * 512, 512);
    expect(index.search(probe, 1).ids[0]).to.equal(4321n);
  });

  it('close, build and add are BUSY during an async build; searches go on, and a build may run during searches', async () => {
    const { index, answers } = smallIndex();
    const controller = new AbortController();
    const building = index.buildAsync(big, bigShape.length, bigShape.elementSize, bigShape.bands, false,
      { signal: controller.signal });
    try {
      expectKnowhereError(thrown(() => index.close()), Status.BUSY, /busy/);
      expectKnowhereError(thrown(() => index.build(smallData, 16, 4, 4, true)), Status.BUSY);
      expectKnowhereError(thrown(() => index.add(smallData)), Status.BUSY);
      expectKnowhereError(await rejection(index.addAsync(smallData)), Status.BUSY);
      expectKnowhereError(await rejection(index.buildAsync(smallData, 16, 4, 4, true)), Status.BUSY);
      expectKnowhereError(thrown(() => index.remove([0])), Status.BUSY);
      // Searches overlap the build: they read the index as it was until the
      // build swaps its new state in.
      sameResults(index.search(rowOf(smallData, small, 0), 5), answers.row(0));
      sameResults(await index.searchAsync(rowOf(smallData, small, 1), 5), answers.row(1));
      expect(index.closed).to.equal(false);
    } finally {
      controller.abort();
      await building.catch(() => undefined);
    }
    expectUnchanged(index, answers);
    // A search in flight blocks close, add and remove, not other searches
    // and not a build (the search keeps the state it started with).
    const searching = index.batchSearchAsync(smallData, 300, 5);
    expectKnowhereError(thrown(() => index.close()), Status.BUSY);
    expectKnowhereError(thrown(() => index.add(smallData)), Status.BUSY);
    expectKnowhereError(thrown(() => index.remove([0])), Status.BUSY);
    sameResults(index.search(rowOf(smallData, small, 1), 5), answers.row(1));
    index.build(smallData, small.length, small.elementSize, small.bands, true); /* the same contents */
    const result = await searching;
    expect([...result.ids]).to.deep.equal([...answers.ids]);
    index.close();
    expect(index.closed).to.equal(true);
  });
});

describe('MinHashLSHIndex: lifetime', () => {
  const data = randomBytes(20 * 16, 1);

  it('use after close throws KnowhereError saying the index is closed; close is idempotent', async () => {
    const index = new MinHashLSHIndex();
    index.build(data, 16, 1, 4, true);
    index.close();
    index.close();
    expect(index.closed).to.equal(true);
    const calls: Array<() => unknown> = [
      () => index.build(data, 16, 1, 4, true), () => index.add(data), () => index.search(data.subarray(0, 16), 1),
      () => index.batchSearch(data, 20, 1), () => index.getVectorByIds([0]), () => index.count,
      () => index.mhVecLength, () => index.elementSize, () => index.bands, () => index.rowsPerBand,
      () => index.hasRawData, () => index.memoryUsage, () => index.numThreads,
      () => { index.numThreads = 1; },
    ];
    for (const call of calls) expectKnowhereError(thrown(call), Status.INVALID_ARG, /closed/);
    expectKnowhereError(await rejection(index.searchAsync(data.subarray(0, 16), 1)), Status.INVALID_ARG, /closed/);
    expectKnowhereError(await rejection(index.buildAsync(data, 16, 1, 4, true)), Status.INVALID_ARG, /closed/);
  });

  it('`using` closes the index at the end of the block', () => {
    let escaped: MinHashLSHIndex | undefined;
    {
      using index = new MinHashLSHIndex();
      escaped = index;
      index.build(data, 16, 1, 4, false);
      expect(index.count).to.equal(20);
    }
    expect(escaped.closed).to.equal(true);
  });

  it('numThreads can be read and set (0 means all processors)', () => {
    using index = new MinHashLSHIndex();
    index.numThreads = 1;
    expect(index.numThreads).to.equal(1);
    index.numThreads = 3;
    expect(index.numThreads).to.equal(3);
    index.numThreads = 0;
    expect(index.numThreads).to.be.at.least(1);
  });

  it('async calls keep their buffers alive through garbage collections', function () {
    this.timeout(120_000);
    // In a child with --expose-gc: inputs and outputs of in-flight calls are
    // unreachable from JS while gc() runs; a missing keep-alive would crash.
    const indexUrl = new URL('../ts/index.ts', import.meta.url).href;
    const tsxUrl = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const script = `
      const { MinHashLSHIndex } = await import(${JSON.stringify(indexUrl)});
      const index = new MinHashLSHIndex();
      const n = 2000, size = 64;
      const data = new Uint8Array(n * size);
      for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761 >>> 13) & 0xff;
      index.build(data, 64, 1, 8, true);
      let checked = 0;
      const run = async (q) => {
        const result = await index.searchAsync(data.slice(q * size, (q + 1) * size), 4,
          { filter: new Uint8Array(n / 8) });
        if (result.ids[0] !== BigInt(q)) throw new Error('wrong answer for ' + q + ': ' + result.ids[0]);
        const batch = await index.batchSearchAsync(data.slice(0, 50 * size), 50, 2);
        if (batch.row(49).ids[0] !== 49n) throw new Error('wrong batch answer');
        checked++;
      };
      // Rounds of 40 calls in flight (koffi allows 256), collected meanwhile.
      const gcLoop = setInterval(() => globalThis.gc(), 1);
      for (let round = 0; round < 20; round++) {
        const pending = [];
        for (let q = 0; q < 20; q++) pending.push(run((round * 20 + q) * 7 % n));
        globalThis.gc();
        await Promise.all(pending);
      }
      clearInterval(gcLoop);
      index.close();
      process.stdout.write('checked ' + checked);`;
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', tsxUrl, '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 100_000 });
    expect(child.signal, child.stderr).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.equal('checked 400');
  });
});

describe('MinHashLSHIndex: options objects', () => {
  it('build(data, { ... }) and search(query, { k, filter }) equal their positional forms; async too', async () => {
    const data = clusteredSignatures(500, small, 25, 0.3, 5);
    using named = new MinHashLSHIndex();
    using positional = new MinHashLSHIndex();
    named.build(data, { mhVecLength: small.length, elementSize: small.elementSize, bands: small.bands, withRawData: true });
    positional.build(data, small.length, small.elementSize, small.bands, true);
    const filter = new Uint8Array(Math.ceil(500 / 8)).fill(0x11);
    for (let row = 0; row < 500; row += 37) {
      const query = rowOf(data, small, row);
      expect(named.search(query, { k: 5 })).to.deep.equal(positional.search(query, 5));
      expect(named.search(query, { k: 5, filter })).to.deep.equal(positional.search(query, 5, filter));
      expect(await named.searchAsync(query, { k: 5, filter })).to.deep.equal(positional.search(query, 5, filter));
    }
    using asyncNamed = new MinHashLSHIndex();
    await asyncNamed.buildAsync(data, { mhVecLength: small.length, elementSize: small.elementSize, bands: small.bands,
      withRawData: true });
    expect(asyncNamed.search(rowOf(data, small, 3), { k: 4 })).to.deep.equal(positional.search(rowOf(data, small, 3), 4));
    expectStatus(thrownBy(() => named.build(data, { mhVecLength: 16, elementSize: 4, bands: 4 } as never)),
      Status.INVALID_ARG, /build option withRawData is missing/);
    expectStatus(thrownBy(() => named.search(rowOf(data, small, 0), {} as never)), Status.INVALID_ARG, /search takes/);
  });
});
