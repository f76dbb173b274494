/**
 * Grouping the near-duplicate pairs of `knowhere-rs dedup` into clusters.
 *
 * cover (the default): documents are taken in input order; each is kept
 * unless it pairs (similarity >= T, estimated or verified) with a document
 * already kept, and then it is dropped, covered by the most similar such
 * document (the first in input order on a tie). A cluster is a kept
 * document and the documents it covers: every member is within the
 * threshold of its representative, so the keep list never drops a document
 * that no kept document is near (no chains).
 *
 * components: the connected components of the pairs (union-find, in the
 * library). A chain A ~ B ~ C joins A and C however far apart they are, and
 * the keep list keeps one document per component.
 */
import type { Pacer } from './pacer.ts';

export type ClusterMode = 'cover' | 'components';

/** The pairs found (left < right), with their similarity. */
export interface Pairs {
  left: Int32Array;
  right: Int32Array;
  /** Signature estimates, or exact Jaccard similarities after --verify. */
  similarity: Float64Array;
  count: number;
}

/** A cluster of two or more near-duplicates. */
export interface Cluster {
  /** The smallest index: the first of the cluster in input order. */
  readonly representative: number;
  /** Ascending, the representative first. */
  readonly members: readonly number[];
  /** With cover: each member's similarity to the representative (the
   * pair's), 1 for the representative. Null for components. */
  readonly similarities: readonly number[] | null;
}

/** Clusters from a representative per document (ids[v] === v: its own). */
export function clustersOfRepresentatives(representatives: ArrayLike<number>,
                                          similarity: Float64Array | null): Cluster[] {
  const byRepresentative = new Map<number, number[]>();
  for (let v = 0; v < representatives.length; v++) {
    const representative = representatives[v]!;
    if (representative === v) continue;
    let members = byRepresentative.get(representative);
    if (members === undefined) {
      members = [representative];
      byRepresentative.set(representative, members);
    }
    members.push(v);
  }
  return [...byRepresentative].sort((a, b) => a[0] - b[0]).map(([representative, members]) => ({
    representative,
    members,
    similarities: similarity === null ? null : members.map((m) => (m === representative ? 1 : similarity[m]!)),
  }));
}

/** The pairs of each document with the documents before it: offsets into
 * `earlier` / `similarity`, by the later document (a CSR adjacency). */
function earlierNeighbours(n: number, pairs: Pairs): { offsets: Int32Array; earlier: Int32Array;
  similarity: Float64Array } {
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < pairs.count; i++) offsets[Math.max(pairs.left[i]!, pairs.right[i]!) + 1]!++;
  for (let v = 0; v < n; v++) offsets[v + 1]! += offsets[v]!;
  const fill = offsets.slice(0, n);
  const earlier = new Int32Array(pairs.count);
  const similarity = new Float64Array(pairs.count);
  for (let i = 0; i < pairs.count; i++) {
    const l = pairs.left[i]!;
    const r = pairs.right[i]!;
    const at = fill[Math.max(l, r)]!++;
    earlier[at] = Math.min(l, r);
    similarity[at] = pairs.similarity[i]!;
  }
  return { offsets, earlier, similarity };
}

/** The greedy cover in input order (see above). */
export async function coverClusters(n: number, pairs: Pairs, pacer: Pacer): Promise<Cluster[]> {
  const { offsets, earlier, similarity } = earlierNeighbours(n, pairs);
  const representative = new Int32Array(n);
  const coverSimilarity = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    let best = v;
    let bestSimilarity = -1;
    for (let k = offsets[v]!; k < offsets[v + 1]!; k++) {
      const u = earlier[k]!;
      // Only a kept document covers (representative[u] === u).
      if (representative[u] !== u || u === v) continue;
      const s = similarity[k]!;
      if (s > bestSimilarity || (s === bestSimilarity && u < best)) {
        best = u;
        bestSimilarity = s;
      }
    }
    representative[v] = best;
    coverSimilarity[v] = best === v ? 1 : bestSimilarity;
    if ((v & 0xffff) === 0xffff) await pacer.tick();
  }
  return clustersOfRepresentatives(representative, coverSimilarity);
}
