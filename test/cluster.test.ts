/**
 * Clusters without pairs through the binding (MinHashLSHIndex.cluster /
 * clusterAsync, ts/cluster.ts): components equal clusterPairs over
 * selfJoin's pairs, the cover equals the greedy definition over them
 * (written here), with hot buckets of identical rows; the exact check
 * against shingleSimilarities; the join estimate against selfJoin; band
 * keys; progress, cancellation and argument errors.
 */
import { expect } from 'chai';

import {
  InterruptedError, MinHashLSHIndex, Status, bandKeys, clusterPairs, shingleSimilarities, signaturesFromTexts,
  type Progress, type SelfJoinResult,
} from '../ts/index.ts';
import { clusteredSignatures, expectKnowhereError, rejection, thrown, type Shape } from './fixtures/helpers.ts';

const shape: Shape = { length: 32, elementSize: 4, bands: 8 };

/** Clustered rows, with a hot bucket: every third row a copy of row 5. */
function hotData(n: number, seed: number): Uint8Array {
  const data = clusteredSignatures(n, shape, 12, 0.25, seed);
  const size = shape.length * shape.elementSize;
  for (let row = 0; row < n; row += 3) data.copyWithin(row * size, 5 * size, 6 * size);
  return data;
}

function build(data: Uint8Array, raw: boolean): MinHashLSHIndex {
  const index = new MinHashLSHIndex();
  index.build(data, shape.length, shape.elementSize, shape.bands, raw);
  return index;
}

/** The greedy cover over a pair list, as its definition reads. */
function greedyCover(n: number, pairs: SelfJoinResult): { rep: number[]; sim: number[] } {
  const partners: { other: number; similarity: number }[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < pairs.count; i++) {
    partners[Number(pairs.right[i])]!.push({ other: Number(pairs.left[i]), similarity: pairs.similarity[i]! });
  }
  const rep: number[] = [];
  const sim: number[] = [];
  for (let v = 0; v < n; v++) {
    let best = v;
    let bestSimilarity = -1;
    for (const { other, similarity } of partners[v]!) {
      if (rep[other] !== other) continue;
      if (similarity > bestSimilarity || (similarity === bestSimilarity && other < best)) {
        best = other;
        bestSimilarity = similarity;
      }
    }
    rep.push(best);
    sim.push(best === v ? 1 : bestSimilarity);
  }
  return { rep, sim };
}

describe('clusters without pairs', () => {
  for (const raw of [true, false]) {
    it(`components equal clusterPairs over selfJoin, the cover the greedy definition (${raw ? 'raw' : 'no raw'})`,
      () => {
        const n = 600;
        const index = build(hotData(n, 3), raw);
        try {
          for (const threshold of [0.5, 0.75, 1]) {
            const pairs = index.selfJoin(threshold);
            const components = index.cluster(threshold, { mode: 'components' });
            expect(Array.from(components.representatives)).to.deep.equal(
              Array.from(clusterPairs(n, pairs.left, pairs.right)));
            const cover = index.cluster(threshold);
            expect(cover.mode).to.equal('cover');
            const want = greedyCover(n, pairs);
            expect(Array.from(cover.representatives, Number)).to.deep.equal(want.rep);
            expect(Array.from(cover.similarities!, (x) => Math.fround(x))).to.deep.equal(want.sim);
            // The hot bucket is one cluster, represented by its first row.
            for (let row = 6; row < n; row += 3) expect(Number(components.representatives[row])).to.be.at.most(5);
            expect(cover.groups().every((g) => g.members[0] === g.representative)).to.equal(true);
          }
        } finally {
          index.close();
        }
      });
  }

  it('the async form gives the same answer, reports phase "cluster", and stops on abort', async () => {
    const index = build(hotData(3000, 4), true);
    try {
      const reports: Progress[] = [];
      const result = await index.clusterAsync(0.6, { onProgress: (p) => { reports.push(p); } });
      expect(Array.from(result.representatives)).to.deep.equal(Array.from(index.cluster(0.6).representatives));
      expect(reports.at(-1)).to.include({ phase: 'cluster' });
      expect(reports.at(-1)!.done).to.equal(reports.at(-1)!.total);
      const controller = new AbortController();
      controller.abort();
      expect(await rejection(index.clusterAsync(0.6, { signal: controller.signal }))).to.be.instanceOf(
        InterruptedError);
      const noSimilarities = index.cluster(0.6, { mode: 'components', similarities: false });
      expect(noSimilarities.similarities).to.equal(null);
    } finally {
      index.close();
    }
  });

  it('with the exact check, the exact similarity decides', () => {
    const words = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black', 'white', 'grey', 'pink'];
    const texts: string[] = [];
    for (let i = 0; i < 120; i++) {
      const base = Array.from({ length: 24 }, (_, k) => words[(k * 7 + Math.floor(i / 6) * 3) % 10]!);
      if (i % 6 !== 0) base[(i * 5) % 24] = words[i % 10]!;
      texts.push(base.join(' '));
    }
    const batch = signaturesFromTexts(texts, { numHashes: 32, shingleSize: 2 });
    const index = new MinHashLSHIndex();
    index.build(batch.values, 32, 4, 8, true);
    try {
      const pairs = index.selfJoin(0.5);
      const exact = shingleSimilarities(texts, pairs.left, pairs.right, { shingleSize: 2 });
      const kept: number[] = [];
      for (let i = 0; i < pairs.count; i++) if (exact[i]! >= 0.85) kept.push(i);
      const want = clusterPairs(texts.length, kept.map((i) => pairs.left[i]!), kept.map((i) => pairs.right[i]!));
      const got = index.cluster(0.5, { mode: 'components', exact: { texts, threshold: 0.85, shingleSize: 2 } });
      expect(Array.from(got.representatives)).to.deep.equal(Array.from(want));
      expectKnowhereError(thrown(() => index.cluster(0.5, { exact: { texts: texts.slice(1), threshold: 0.8 } })),
        Status.INVALID_ARG, /119 documents, but the index has 120 rows/);
    } finally {
      index.close();
    }
  });

  it('selfJoinEstimate counts the pairs of selfJoin without making them', async () => {
    const index = build(hotData(900, 5), true);
    try {
      for (const threshold of [0, 0.5, 0.9]) {
        const estimate = index.selfJoinEstimate(threshold);
        expect(estimate.pairs).to.equal(index.selfJoin(threshold).count);
        expect(estimate.candidates).to.be.at.least(estimate.pairs);
        expect(await index.selfJoinEstimateAsync(threshold)).to.deep.equal(estimate);
      }
    } finally {
      index.close();
    }
  });

  it('bandKeys: equal keys exactly where bands are equal', () => {
    const a = new Uint32Array(32).map((_, i) => i * 977);
    const b = a.slice();
    b[0] = 1; // band 0 differs
    const ka = bandKeys(a, 32, 4, 8);
    const kb = bandKeys(b, 32, 4, 8);
    expect(ka.length).to.equal(8);
    expect(ka[0]).to.not.equal(kb[0]);
    expect(Array.from(ka.subarray(1))).to.deep.equal(Array.from(kb.subarray(1)));
    expect(bandKeys(a, 32, 4, 100).length).to.equal(32); // clamped, as the build clamps
    expectKnowhereError(thrown(() => bandKeys(a, 31, 4, 8)), Status.INVALID_ARG, /signature_len 128/);
  });

  it('argument errors', () => {
    const index = build(hotData(50, 6), true);
    try {
      expectKnowhereError(thrown(() => index.cluster(0.5, { mode: 'chains' as 'cover' })), Status.INVALID_ARG,
        /mode must be 'cover' or 'components'/);
      expectKnowhereError(thrown(() => index.cluster(2)), Status.INVALID_ARG, /threshold 2 is not in 0..1/);
      expectKnowhereError(thrown(() => index.cluster('0.5' as unknown as number)), Status.INVALID_ARG,
        /threshold must be a number/);
      expectKnowhereError(thrown(() => index.selfJoinEstimate(Number.NaN)), Status.INVALID_ARG, /threshold/);
    } finally {
      index.close();
    }
    const empty = new MinHashLSHIndex();
    expect(empty.cluster(0.5).count).to.equal(0);
    expect(empty.selfJoinEstimate(0.5)).to.deep.equal({ pairs: 0, candidates: 0 });
    empty.close();
  });
});
