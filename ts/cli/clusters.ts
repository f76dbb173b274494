/**
 * The clusters of `knowhere-rs dedup`, from each document's representative
 * as the library's clustering gives it (MinHashLSHIndex.clusterAsync).
 *
 * cover (the default): documents are taken in input order; each is kept
 * unless it pairs (similarity >= T, estimated or verified) with a document
 * already kept, and then it is dropped, covered by the most similar such
 * document (the first in input order on a tie). A cluster is a kept
 * document and the documents it covers: every member is within the
 * threshold of its representative, so the keep list never drops a document
 * that no kept document is near (no chains).
 *
 * components: the connected components of the pairs. A chain A ~ B ~ C
 * joins A and C however far apart they are, and the keep list keeps one
 * document per component, its first.
 */

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
  /** Each member's similarity to the representative, 1 for the
   * representative: the pair's with cover; for components, whether or not
   * they are a pair. The signatures' estimate, or exact with --verify. */
  readonly similarities: readonly number[];
}

/** Clusters from a representative per document (ids[v] === v: its own)
 * and each document's similarity to it. */
export function clustersOfRepresentatives(representatives: ArrayLike<number>,
                                          similarity: ArrayLike<number>): Cluster[] {
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
    similarities: members.map((m) => (m === representative ? 1 : similarity[m]!)),
  }));
}
