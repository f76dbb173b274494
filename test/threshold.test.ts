/**
 * Thresholds through the binding: the S-curve and chooseBands against the
 * formula, range search and self-join against a brute force written here
 * from the contract in knowhere_rs.h (bands, candidates, similarity,
 * ordering, filter), clusterPairs against a breadth-first search; the
 * async forms, their cancellation and progress, and argument errors.
 */
import { expect } from 'chai';

import {
  Interrupt, InterruptedError, MinHashLSHIndex, RangeSearchResult, SelfJoinResult, Status, candidateProbability,
  chooseBands, clusterPairs, clusterPairsAsync, type Progress,
} from '../ts/index.ts';
import {
  bigShape, bigSignatures, clusteredSignatures, expectKnowhereError, generator, rejection, rowOf, thrown,
  type Shape,
} from './fixtures/helpers.ts';

// ---------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------

const formula = (s: number, bands: number, rows: number): number => 1 - (1 - s ** rows) ** bands;

/** Every (bands, rows) a build can make for K hashes, and the choice the
 * header describes: reaching the target, the largest rows, then the fewest
 * bands. */
function referenceChoice(numHashes: number, threshold: number, target: number):
  { bands: number; rows: number } | null {
  let best: { bands: number; rows: number } | null = null;
  for (let bands = 1; bands <= numHashes; bands++) {
    const rows = Math.floor(numHashes / bands);
    if (formula(threshold, bands, rows) < target) continue;
    if (best === null || rows > best.rows || (rows === best.rows && bands < best.bands)) best = { bands, rows };
  }
  return best;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Scored {
  readonly id: number;
  readonly similarity: number;
}

/**
 * The candidates of `query` among the rows of `data` and their similarity,
 * as knowhere_rs.h defines them: a candidate shares at least one band
 * (values [k*r, (k+1)*r) for band k, r = floor(length / bands)) byte for
 * byte; its similarity is the fraction of equal values with raw data, else
 * the fraction of equal bands; reported as a float32 (score / d, rounded once).
 */
function referenceCandidates(data: Uint8Array, n: number, shape: Shape, query: Uint8Array, rawData: boolean): Scored[] {
  const rows = Math.floor(shape.length / shape.bands);
  const es = shape.elementSize;
  const out: Scored[] = [];
  for (let id = 0; id < n; id++) {
    const row = rowOf(data, shape, id);
    let bandsEqual = 0;
    for (let b = 0; b < shape.bands; b++) {
      const from = b * rows * es;
      if (bytesEqual(row.subarray(from, from + rows * es), query.subarray(from, from + rows * es))) bandsEqual++;
    }
    if (bandsEqual === 0) continue;
    let score = bandsEqual;
    let denominator = shape.bands;
    if (rawData) {
      score = 0;
      for (let p = 0; p < shape.length; p++) {
        if (bytesEqual(row.subarray(p * es, (p + 1) * es), query.subarray(p * es, (p + 1) * es))) score++;
      }
      denominator = shape.length;
    }
    out.push({ id, similarity: Math.fround(score / denominator) });
  }
  return out;
}

function referenceRange(data: Uint8Array, n: number, shape: Shape, query: Uint8Array, threshold: number,
                        rawData: boolean, excluded: (id: number) => boolean = () => false): Scored[] {
  return referenceCandidates(data, n, shape, query, rawData)
    .filter((c) => c.similarity >= Math.fround(threshold) && !excluded(c.id))
    .sort((a, b) => b.similarity - a.similarity || a.id - b.id);
}

function rowList(result: RangeSearchResult, q: number): Scored[] {
  const row = result.row(q);
  return Array.from(row.ids, (id, i) => ({ id: Number(id), similarity: row.distances[i]! }));
}

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

const shapes: { shape: Shape; rawData: boolean }[] = [
  { shape: { length: 16, elementSize: 4, bands: 4 }, rawData: true },
  { shape: { length: 16, elementSize: 4, bands: 4 }, rawData: false },
  { shape: { length: 30, elementSize: 2, bands: 7 }, rawData: true },
  { shape: { length: 24, elementSize: 1, bands: 8 }, rawData: false },
];

const N = 400;

function built(shape: Shape, rawData: boolean, seed = 5): { index: MinHashLSHIndex; data: Uint8Array } {
  const data = clusteredSignatures(N, shape, 12, 0.25, seed);
  const index = new MinHashLSHIndex();
  index.build(data, shape.length, shape.elementSize, shape.bands, rawData);
  return { index, data };
}

// ---------------------------------------------------------------------------
// Choosing bands
// ---------------------------------------------------------------------------

describe('thresholds: the S-curve and the choice of bands', () => {
  it('candidateProbability is 1 - (1 - s^rows)^bands', () => {
    for (const s of [0.05, 0.3, 0.5, 0.7, 0.8, 0.9, 0.99]) {
      for (const [bands, rows] of [[1, 1], [17, 7], [16, 8], [9, 13], [64, 2], [128, 1], [1, 128]] as const) {
        expect(candidateProbability(s, bands, rows), `s ${s}, ${bands} x ${rows}`)
          .to.be.closeTo(formula(s, bands, rows), 1e-12);
      }
    }
  });

  it('candidateProbability: edges, clamping, and tiny values without cancellation', () => {
    expect(candidateProbability(0, 17, 7)).to.equal(0);
    expect(candidateProbability(1, 17, 7)).to.equal(1);
    expect(candidateProbability(1.5, 17, 7)).to.equal(1);
    expect(candidateProbability(-0.5, 17, 7)).to.equal(0);
    expect(candidateProbability(Number.NaN, 17, 7)).to.equal(0);
    expect(candidateProbability(0.8, 0, 7)).to.equal(0);
    expect(candidateProbability(0.8, 17, 0)).to.equal(0);
    // 1 - (1 - 1e-20)^3 is 0 in doubles; the library keeps about 3e-20.
    const tiny = candidateProbability(1e-4, 3, 5);
    expect(tiny / 3e-20).to.be.closeTo(1, 1e-6);
    expectKnowhereError(thrown(() => candidateProbability(0.5, -1, 3)), Status.INVALID_ARG, /bands/);
    expectKnowhereError(thrown(() => candidateProbability('0.5' as unknown as number, 1, 3)), Status.INVALID_ARG,
      /s must be a number/);
  });

  it('chooseBands(128, 0.8) is 17 bands x 7 rows with P = 0.982 (16 x 8 reaches only 0.947)', () => {
    const choice = chooseBands(128, 0.8);
    expect(choice.bands).to.equal(17);
    expect(choice.rows).to.equal(7);
    expect(choice.probability).to.be.closeTo(formula(0.8, 17, 7), 1e-12);
    expect(choice.probability).to.be.closeTo(0.9817, 1e-4);
    expect(formula(0.8, 16, 8)).to.be.below(0.95);
  });

  it('chooseBands agrees with the enumeration of every bands count, and target defaults to 0.95', () => {
    for (const numHashes of [8, 16, 50, 64, 100, 128, 256]) {
      for (const threshold of [0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95]) {
        for (const target of [0.5, 0.9, 0.95, 0.99]) {
          const expected = referenceChoice(numHashes, threshold, target);
          const label = `K ${numHashes}, T ${threshold}, target ${target}`;
          if (expected === null) {
            expectKnowhereError(thrown(() => chooseBands(numHashes, threshold, target)), Status.INVALID_ARG,
              /no bands x rows/);
            continue;
          }
          const choice = chooseBands(numHashes, threshold, target);
          expect({ bands: choice.bands, rows: choice.rows }, label).to.deep.equal(expected);
          expect(choice.rows, label).to.equal(Math.floor(numHashes / choice.bands));
          expect(choice.probability, label).to.be.at.least(target);
          expect(choice.probability, label).to.be.closeTo(formula(threshold, choice.bands, choice.rows), 1e-9);
        }
        if (referenceChoice(numHashes, threshold, 0.95) !== null) {
          expect(chooseBands(numHashes, threshold)).to.deep.equal(chooseBands(numHashes, threshold, 0.95));
        }
      }
    }
  });

  it('an unreachable target and arguments out of range are KnowhereError INVALID_ARG with the C message', () => {
    expectKnowhereError(thrown(() => chooseBands(2, 0.1, 0.99)), Status.INVALID_ARG,
      /no bands x rows within 2 hashes reaches .* the best is 2 bands x 1 rows/);
    expectKnowhereError(thrown(() => chooseBands(0, 0.8)), Status.INVALID_ARG, /num_hashes must be at least 1/);
    expectKnowhereError(thrown(() => chooseBands(128, 1)), Status.INVALID_ARG, /threshold 1 is not strictly between/);
    expectKnowhereError(thrown(() => chooseBands(128, 0)), Status.INVALID_ARG, /threshold 0/);
    expectKnowhereError(thrown(() => chooseBands(128, Number.NaN)), Status.INVALID_ARG, /threshold nan/i);
    expectKnowhereError(thrown(() => chooseBands(128, 0.8, 1)), Status.INVALID_ARG, /target 1 is not strictly/);
    expectKnowhereError(thrown(() => chooseBands(1.5, 0.8)), Status.INVALID_ARG, /numHashes must be/);
  });
});

// ---------------------------------------------------------------------------
// Range search
// ---------------------------------------------------------------------------

describe('thresholds: range search', () => {
  it('equals the brute force for every row, at several thresholds, with and without raw data', () => {
    for (const { shape, rawData } of shapes) {
      const { index, data } = built(shape, rawData);
      using _ = index;
      for (const threshold of [0, 0.3, 0.55, 0.8, 0.99]) {
        const result = index.rangeSearch(data, N, threshold);
        expect(result).to.be.instanceOf(RangeSearchResult);
        expect(result.nq).to.equal(N);
        expect(result.lims.length).to.equal(N + 1);
        expect(result.lims[0]).to.equal(0n);
        expect(Number(result.lims[N])).to.equal(result.ids.length);
        let total = 0;
        for (let q = 0; q < N; q++) {
          const expected = referenceRange(data, N, shape, rowOf(data, shape, q), threshold, rawData);
          expect(rowList(result, q), `${JSON.stringify(shape)} raw ${rawData} T ${threshold} q ${q}`)
            .to.deep.equal(expected);
          total += expected.length;
        }
        expect(result.ids.length).to.equal(total);
      }
    }
  });

  it('its first k results of a query are what search returns with k', () => {
    const { shape } = shapes[0]!;
    const { index, data } = built(shape, true);
    using _ = index;
    const range = index.rangeSearch(data, N, 0);
    for (const q of [0, 7, 123, 399]) {
      const all = rowList(range, q);
      const k = Math.min(5, all.length);
      const search = index.search(rowOf(data, shape, q), k);
      expect(all.slice(0, k).map((c) => BigInt(c.id))).to.deep.equal([...search.ids]);
    }
  });

  it('queries that are not in the index, and a filter that excludes ids', () => {
    const { shape } = shapes[2]!;
    const { index, data } = built(shape, true);
    using _ = index;
    const queries = clusteredSignatures(50, shape, 12, 0.25, 5).map((b, i) => (i % 97 === 0 ? b ^ 1 : b));
    const bits = N - 10;
    const filter = new Uint8Array(Math.ceil(bits / 8));
    for (let id = 0; id < bits; id += 3) filter[id >> 3]! |= 1 << (id & 7);
    const excluded = (id: number): boolean => id >= bits || (filter[id >> 3]! & (1 << (id & 7))) !== 0;
    const result = index.rangeSearch(queries, 50, 0.4, { filter: { bytes: filter, bits } });
    for (let q = 0; q < 50; q++) {
      expect(rowList(result, q), `q ${q}`)
        .to.deep.equal(referenceRange(data, N, shape, rowOf(queries, shape, q), 0.4, true, excluded));
    }
  });

  it('async equals sync, reports phase "search" with total nq, and stops on abort', async function () {
    this.timeout(120_000);
    const { shape } = shapes[0]!;
    const { index, data } = built(shape, true);
    using _ = index;
    const reports: Progress[] = [];
    const async = await index.rangeSearchAsync(data, N, 0.5, { onProgress: (p) => { reports.push(p); } });
    const sync = index.rangeSearch(data, N, 0.5);
    expect(async.lims).to.deep.equal(sync.lims);
    expect(async.ids).to.deep.equal(sync.ids);
    expect(async.distances).to.deep.equal(sync.distances);
    expect(reports[reports.length - 1]).to.deep.equal({ done: N, total: N, phase: 'search' });

    using big = new MinHashLSHIndex();
    const bigData = bigSignatures();
    big.build(bigData, bigShape.length, bigShape.elementSize, bigShape.bands, false);
    big.numThreads = 1;
    const controller = new AbortController();
    const pending = big.rangeSearchAsync(bigData, bigData.length / bigShape.length, 0.5, { signal: controller.signal });
    setTimeout(() => { controller.abort(); }, 10);
    expect(await rejection(pending)).to.be.instanceOf(InterruptedError);
  });

  it('a never-built index gives empty lists; bad thresholds are INVALID_ARG', async () => {
    using empty = new MinHashLSHIndex();
    const result = empty.rangeSearch(new Uint8Array(64), 2, 0.5);
    expect([...result.lims]).to.deep.equal([0n, 0n, 0n]);
    expect(result.row(1).ids.length).to.equal(0);
    const { index, data } = built(shapes[0]!.shape, true);
    using _ = index;
    expectKnowhereError(thrown(() => index.rangeSearch(data, N, 1.5)), Status.INVALID_ARG, /threshold 1.5 is not in 0..1/);
    expectKnowhereError(thrown(() => index.rangeSearch(data, N, Number.NaN)), Status.INVALID_ARG, /threshold/);
    expectKnowhereError(await rejection(index.rangeSearchAsync(data, N, -1)), Status.INVALID_ARG, /threshold -1/);
    expectKnowhereError(thrown(() => index.rangeSearch(data, N, '0.5' as unknown as number)), Status.INVALID_ARG,
      /threshold must be a number/);
    expectKnowhereError(thrown(() => index.rangeSearch(data, 0, 0.5)), Status.INVALID_ARG, /nq must be at least 1/);
    expectKnowhereError(thrown(() => result.row(2)), Status.INVALID_ARG, /row 2 is out of range/);
  });
});

// ---------------------------------------------------------------------------
// Self-join
// ---------------------------------------------------------------------------

interface Pair {
  readonly left: number;
  readonly right: number;
  readonly similarity: number;
}

function referenceJoin(data: Uint8Array, shape: Shape, threshold: number, rawData: boolean): Pair[] {
  const pairs: Pair[] = [];
  for (let i = 0; i < N; i++) {
    for (const c of referenceRange(data, N, shape, rowOf(data, shape, i), threshold, rawData)) {
      if (c.id > i) pairs.push({ left: i, right: c.id, similarity: c.similarity });
    }
  }
  return pairs.sort((a, b) => a.left - b.left || a.right - b.right);
}

function pairList(result: SelfJoinResult): Pair[] {
  return Array.from(result.left, (left, i) => ({
    left: Number(left), right: Number(result.right[i]), similarity: result.similarity[i]!,
  }));
}

describe('thresholds: self-join', () => {
  it('equals the brute force (each pair once, i < j, sorted), with and without raw data', () => {
    for (const { shape, rawData } of shapes) {
      const { index, data } = built(shape, rawData, 11);
      using _ = index;
      for (const threshold of [0, 0.45, 0.7, 0.99]) {
        const result = index.selfJoin(threshold);
        expect(result).to.be.instanceOf(SelfJoinResult);
        expect(result.count).to.equal(result.left.length);
        expect(pairList(result), `${JSON.stringify(shape)} raw ${rawData} T ${threshold}`)
          .to.deep.equal(referenceJoin(data, shape, threshold, rawData));
      }
    }
  });

  it('async equals sync and reports phase "join" in signatures, ending with done === total', async () => {
    const { index } = built(shapes[0]!.shape, true);
    using _ = index;
    const reports: Progress[] = [];
    const async = await index.selfJoinAsync(0.5, { onProgress: (p) => { reports.push(p); } });
    expect(pairList(async)).to.deep.equal(pairList(index.selfJoin(0.5)));
    const last = reports[reports.length - 1]!;
    expect(last.phase).to.equal('join');
    expect(last.done).to.equal(last.total);
    expect(last.total).to.equal(N);
  });

  it('a large self-join stops on abort (InterruptedError) and on an Interrupt; searches may run meanwhile',
    async function () {
      this.timeout(120_000);
      using big = new MinHashLSHIndex();
      const data = bigSignatures();
      // 64 bands of 2 random values: about 2^-64 collisions, but every
      // signature is walked in every band: a join of a few seconds.
      big.build(data, bigShape.length, bigShape.elementSize, 64, true);
      big.numThreads = 1;
      const controller = new AbortController();
      const started = performance.now();
      const pending = big.selfJoinAsync(0.5, { signal: controller.signal });
      // A read: allowed while the join (a read) runs; an add, which would
      // change the state the join reads, is BUSY.
      expect(big.search(data.subarray(0, bigShape.length), 1).ids[0]).to.equal(0n);
      expectKnowhereError(thrown(() => { big.add(data.subarray(0, bigShape.length)); }), Status.BUSY);
      setTimeout(() => { controller.abort(); }, 20);
      const error = await rejection(pending);
      expect(error).to.be.instanceOf(InterruptedError);
      expect((error as Error).message).to.match(/self-join interrupted/);
      const aborted = performance.now() - started;

      using interrupt = new Interrupt();
      const second = big.selfJoinAsync(0.5, { interrupt });
      setTimeout(() => { interrupt.interrupt(); }, 20);
      expect(await rejection(second)).to.be.instanceOf(InterruptedError);

      const fullStarted = performance.now();
      const full = await big.selfJoinAsync(0.5);
      const fullMs = performance.now() - fullStarted;
      expect(full.count).to.equal(0);
      expect(aborted, `the whole join takes ${fullMs.toFixed(0)} ms`).to.be.below(fullMs / 2);
    });

  it('a never-built index has no pairs; bad thresholds are INVALID_ARG', () => {
    using empty = new MinHashLSHIndex();
    expect(empty.selfJoin(0.5).count).to.equal(0);
    const { index } = built(shapes[0]!.shape, true);
    using _ = index;
    expectKnowhereError(thrown(() => index.selfJoin(2)), Status.INVALID_ARG, /threshold 2 is not in 0..1/);
    expectKnowhereError(thrown(() => index.selfJoin(Number.NaN)), Status.INVALID_ARG, /threshold/);
    index.close();
    expectKnowhereError(thrown(() => index.selfJoin(0.5)), Status.INVALID_ARG, /closed/);
  });
});

// ---------------------------------------------------------------------------
// Clustering
// ---------------------------------------------------------------------------

/** Components by breadth-first search; each vertex gets its component's
 * smallest id. */
function referenceClusters(n: number, left: readonly number[], right: readonly number[]): number[] {
  const adjacent: number[][] = Array.from({ length: n }, () => []);
  left.forEach((l, i) => {
    adjacent[l]!.push(right[i]!);
    adjacent[right[i]!]!.push(l);
  });
  const cluster = new Array<number>(n).fill(-1);
  for (let start = 0; start < n; start++) {
    if (cluster[start] !== -1) continue;
    // Ascending start: the first vertex of a component is its smallest.
    cluster[start] = start;
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of adjacent[v]!) {
        if (cluster[w] === -1) {
          cluster[w] = start;
          queue.push(w);
        }
      }
    }
  }
  return cluster;
}

describe('thresholds: clustering pairs', () => {
  it('equals a breadth-first search on random graphs (self-loops and repeated pairs included)', async () => {
    for (const [n, edges, seed] of [[1, 0, 1], [10, 4, 2], [500, 300, 3], [2000, 1900, 4], [3000, 6000, 5]] as const) {
      const next = generator(seed);
      const left = Array.from({ length: edges }, () => next() % n);
      const right = left.map((l, i) => (i % 17 === 0 ? l : next() % n));
      if (edges > 2) {
        left.push(left[0]!);
        right.push(right[0]!);
      }
      const expected = referenceClusters(n, left, right);
      const ids = clusterPairs(n, left, right);
      expect(ids).to.be.instanceOf(BigInt64Array);
      expect(Array.from(ids, Number), `n ${n}, ${edges} edges`).to.deep.equal(expected);
      const asyncIds = await clusterPairsAsync(n, BigInt64Array.from(left, BigInt), BigInt64Array.from(right, BigInt));
      expect(Array.from(asyncIds, Number)).to.deep.equal(expected);
    }
  });

  it('clusters the pairs of a self-join directly', () => {
    const { index } = built(shapes[0]!.shape, true, 21);
    using _ = index;
    const join = index.selfJoin(0.6);
    const ids = clusterPairs(index.count, join.left, join.right);
    expect(Array.from(ids, Number)).to.deep.equal(
      referenceClusters(index.count, Array.from(join.left, Number), Array.from(join.right, Number)));
    for (let p = 0; p < join.count; p++) expect(ids[Number(join.left[p])]).to.equal(ids[Number(join.right[p])]);
  });

  it('n = 0, ids out of range, mismatched lengths, and a cancelled call', async () => {
    expect(clusterPairs(0, [], []).length).to.equal(0);
    expectKnowhereError(thrown(() => clusterPairs(5, [0, 1, 2, 3], [1, 2, 3, 5])), Status.INVALID_ARG,
      /pair 3 \(3, 5\) has an id outside 0\.\.4/);
    expectKnowhereError(thrown(() => clusterPairs(5, [0, -1], [1, 2])), Status.INVALID_ARG, /pair 1 \(-1, 2\)/);
    expectKnowhereError(thrown(() => clusterPairs(0, [0], [0])), Status.INVALID_ARG, /n is 0/);
    expectKnowhereError(thrown(() => clusterPairs(5, [0, 1], [1])), Status.INVALID_ARG,
      /left and right must have the same length, got 2 and 1/);
    expectKnowhereError(thrown(() => clusterPairs(5, [0.5], [1])), Status.INVALID_ARG, /left\[0\] must be an integer/);
    const controller = new AbortController();
    controller.abort();
    expect(await rejection(clusterPairsAsync(5, [0], [1], { signal: controller.signal })))
      .to.be.instanceOf(InterruptedError);
    using interrupt = Interrupt.withState(true);
    expect(await rejection(clusterPairsAsync(5, [0], [1], { interrupt }))).to.be.instanceOf(InterruptedError);
  });
});
