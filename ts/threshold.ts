/**
 * Thresholds: choosing bands for a similarity threshold, the results of
 * range searches and self-joins, and clustering a pair list
 * (knowhere_lsh_*, knowhere_range_result_*, knowhere_pairs_*,
 * knowhere_cluster_pairs_*).
 *
 * MinHashLSHIndex.rangeSearch / selfJoin (ts/minhash-lsh.ts) produce the
 * result classes defined here; the C results are copied into JS memory and
 * freed at once, so nothing here holds native memory.
 */
import { type AsyncOptions, bytesOf, countOf, describe, idsOf, ownedIdsOf, runAsync } from './async-call.ts';
import { checkRow, invalidArgument, throwIfFailed } from './errors.ts';
import { native, newErrorOut, type ChooseBandsOut } from './native.ts';
import type { SearchResult } from './minhash-lsh.ts';

// ---------------------------------------------------------------------------
// Choosing bands
// ---------------------------------------------------------------------------

/** A bands x rows configuration and P(candidate | threshold) under it. */
export interface BandChoice {
  readonly bands: number;
  readonly rows: number;
  readonly probability: number;
}

function numberOf(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgument(`${name} must be a number, got ${describe(value)}`);
  return value;
}

/** P(candidate | similarity s) = 1 - (1 - s^rows)^bands, the LSH S-curve:
 * the probability that two signatures of Jaccard similarity s share at
 * least one of `bands` bands of `rows` values. */
export function candidateProbability(s: number, bands: number, rows: number): number {
  return native.lshCandidateProbability(numberOf(s, 's'), countOf(bands, 'bands'), countOf(rows, 'rows'));
}

/**
 * The bands x rows (bands * rows <= numHashes) for a similarity threshold
 * (0 < threshold < 1) under which a pair at the threshold is a candidate
 * with probability at least `target`, with the longest bands that reach it
 * (fewest false candidates). Pass `bands` to MinHashLSHIndex.build: it
 * uses rows = floor(numHashes / bands), the `rows` returned.
 *
 * Throws KnowhereError (INVALID_ARG) for arguments out of range, or when no
 * configuration reaches the target (the message names the best one).
 */
export function chooseBands(numHashes: number, threshold: number, target = 0.95): BandChoice {
  const out: ChooseBandsOut = { bands: [0], rows: [0], probability: [0] };
  const err = newErrorOut();
  throwIfFailed(native.lshChooseBands(countOf(numHashes, 'numHashes'), numberOf(threshold, 'threshold'),
    numberOf(target, 'target'), out, err), err);
  return { bands: Number(out.bands[0]), rows: Number(out.rows[0]), probability: out.probability[0] };
}

/**
 * The band keys of one signature (any TypedArray of mhVecLength values of
 * elementSize bytes), as an index built with these parameters files it:
 * key b is XXH3-64 of band b's bytes, for b < min(bands, mhVecLength).
 * Two signatures are candidates of each other when some key is equal.
 */
export function bandKeys(signature: ArrayBufferView, mhVecLength: number, elementSize: number,
                         bands: number): BigUint64Array {
  const bytes = bytesOf(signature, 'signature');
  const length = countOf(mhVecLength, 'mhVecLength');
  const keys = new BigUint64Array(Math.min(countOf(bands, 'bands'), length));
  const err = newErrorOut();
  throwIfFailed(native.lshBandKeys(bytes, bytes.byteLength, length, countOf(elementSize, 'elementSize'), bands, keys,
    keys.length, err), err);
  return keys;
}

// ---------------------------------------------------------------------------
// Range search and self-join results
// ---------------------------------------------------------------------------

/** Every match at or above a threshold for each of nq queries, in
 * knowhere's `lims` layout: query q's matches are ids[lims[q] ..
 * lims[q + 1] - 1] with their similarities, by similarity descending then
 * id ascending. */
export class RangeSearchResult {
  readonly nq: number;
  /** nq + 1 offsets into ids and distances. */
  readonly lims: BigUint64Array;
  readonly ids: BigInt64Array;
  /** Similarities in [0, 1], larger is closer. */
  readonly distances: Float32Array;

  constructor(nq: number, lims: BigUint64Array, ids: BigInt64Array, distances: Float32Array) {
    this.nq = nq;
    this.lims = lims;
    this.ids = ids;
    this.distances = distances;
  }

  /** Views (no copy) of query q's matches (as many as it has). */
  row(q: number): SearchResult {
    checkRow(q, this.nq, `the result has ${this.nq} queries`);
    const start = Number(this.lims[q]);
    const end = Number(this.lims[q + 1]);
    return { ids: this.ids.subarray(start, end), distances: this.distances.subarray(start, end) };
  }
}

/** Pairs (left[i] < right[i]) of indexed signatures with their similarity,
 * each pair once, sorted by (left, right). */
export class SelfJoinResult {
  readonly count: number;
  readonly left: BigInt64Array;
  readonly right: BigInt64Array;
  /** Similarities in [0, 1], as a search reports them. */
  readonly similarity: Float32Array;

  constructor(left: BigInt64Array, right: BigInt64Array, similarity: Float32Array) {
    this.count = left.length;
    this.left = left;
    this.right = right;
    this.similarity = similarity;
  }
}

// ---------------------------------------------------------------------------
// Clustering
// ---------------------------------------------------------------------------

interface ClusterArguments {
  readonly n: number;
  readonly left: BigInt64Array;
  readonly right: BigInt64Array;
  readonly clusterIds: BigInt64Array;
}

/** `owned`: for an async call, the ids in memory the binding owns. */
function clusterArguments(n: unknown, left: unknown, right: unknown, owned = false): ClusterArguments {
  const count = countOf(n, 'n');
  const ids = owned ? ownedIdsOf : idsOf;
  const l = ids(left, 'left');
  const r = ids(right, 'right');
  if (l.length !== r.length) {
    throw invalidArgument(`left and right must have the same length, got ${l.length} and ${r.length}`);
  }
  return { n: count, left: l, right: r, clusterIds: new BigInt64Array(count) };
}

/** Pair ids: a BigInt64Array (as a SelfJoinResult has them) or integers. */
export type PairIds = BigInt64Array | readonly (number | bigint)[];

/**
 * The connected components of the graph on ids 0..n-1 whose edges are the
 * pairs (left[i], right[i]): element v is the smallest id of v's component,
 * its representative (so v is a representative when it equals v). An id
 * outside 0..n-1 is KnowhereError INVALID_ARG naming the pair.
 */
export function clusterPairs(n: number, left: PairIds, right: PairIds): BigInt64Array {
  const args = clusterArguments(n, left, right);
  const err = newErrorOut();
  throwIfFailed(native.clusterPairsWithInterrupt(
    args.n, args.left, args.right, args.left.length, args.clusterIds, null, err), err);
  return args.clusterIds;
}

/** clusterPairs on the thread pool, cancellable with `signal` / `interrupt`. */
export async function clusterPairsAsync(n: number, left: PairIds, right: PairIds,
                                        options: AsyncOptions = {}): Promise<BigInt64Array> {
  const args = clusterArguments(n, left, right, true);
  await runAsync(options, [args.left, args.right, args.clusterIds], (interrupt, err) =>
    native.async.clusterPairsWithInterrupt(
      args.n, args.left, args.right, args.left.length, args.clusterIds, interrupt, err));
  return args.clusterIds;
}
