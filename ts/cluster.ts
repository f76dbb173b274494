/**
 * Clusters of an index's near-duplicates without their pairs
 * (knowhere_minhash_lsh_cluster_with_interrupt and its exact variant), and
 * the self-join's size before it runs
 * (knowhere_minhash_lsh_self_join_estimate_with_interrupt).
 *
 * MinHashLSHIndex.cluster / clusterAsync / selfJoinEstimate (ts/minhash-lsh.ts)
 * run these calls under the index's busy guard; this module checks the
 * arguments, makes the output buffers and turns them into results.
 *
 *   const clusters = await index.clusterAsync(0.8, { mode: 'cover', signal });
 *   clusters.representatives[i]  // the row that row i is kept as (itself) or dropped for
 *
 * 'cover' (the default): rows in id order; a row is kept unless it pairs
 * (shares a band, similarity >= threshold) with a row kept before it, and
 * then it belongs to the most similar such row (the smallest id on a tie):
 * every row is within the threshold of its representative. 'components':
 * the connected components of the pairs, each represented by its smallest
 * row. Both give exactly what a self-join followed by the grouping gives,
 * but the work grows with the rows, not with the pairs (hot buckets of
 * thousands of identical documents cost one comparison a row).
 */
import { describe } from './async-call.ts';
import { invalidArgument } from './errors.ts';
import {
  ClusterMode as NativeClusterMode, native, type CountOut, type ErrorOut, type IndexPtr, type InterruptPtr,
  type NativeSignatureOptions,
} from './native.ts';
import { nativeOptionsOf, packDocuments, type Document, type SignatureOptions } from './signature.ts';

export type ClusterMode = 'cover' | 'components';

/** The exact check: a pair must also have an exact Jaccard similarity of
 * its documents' shingle sets (with these signature options' shingles) of
 * at least `threshold`. */
export interface ExactCheck extends SignatureOptions {
  /** Row i's document, for every row of the index. */
  readonly texts: readonly Document[];
  /** 0..1. */
  readonly threshold: number;
}

export interface ClusterOptions {
  /** Default 'cover'. */
  readonly mode?: ClusterMode | undefined;
  /** Whether to compute each row's similarity to its representative
   * (default true; components need a pass for them). */
  readonly similarities?: boolean | undefined;
  /** With it, the exact similarity decides (and is the one reported); the
   * threshold still chooses the candidates by their signatures, so set it
   * lower than exact.threshold. */
  readonly exact?: ExactCheck | null | undefined;
}

/** Each row's representative and its similarity to it. */
export class Clusters {
  readonly mode: ClusterMode;
  readonly count: number;
  /** Row i belongs to row representatives[i] (itself when it is one). */
  readonly representatives: BigInt64Array;
  /** Row i's similarity to its representative (1 for a representative):
   * the signatures' estimate, or the exact one with the exact check; null
   * when not asked for. */
  readonly similarities: Float64Array | null;

  constructor(mode: ClusterMode, representatives: BigInt64Array, similarities: Float64Array | null) {
    this.mode = mode;
    this.count = representatives.length;
    this.representatives = representatives;
    this.similarities = similarities;
  }

  /** The clusters of two or more rows, by representative ascending, each
   * with its members ascending (the representative first). */
  groups(): { readonly representative: number; readonly members: readonly number[] }[] {
    const byRepresentative = new Map<number, number[]>();
    for (let v = 0; v < this.count; v++) {
      const r = Number(this.representatives[v]);
      if (r === v) continue;
      let members = byRepresentative.get(r);
      if (members === undefined) byRepresentative.set(r, (members = [r]));
      members.push(v);
    }
    return [...byRepresentative].sort((a, b) => a[0] - b[0]).map(([representative, members]) => ({
      representative, members,
    }));
  }
}

/** A checked call: its output buffers and how to run it. */
export interface ClusterCall {
  /** Every buffer C uses, to hold while an async call runs. */
  readonly buffers: readonly unknown[];
  run(interrupt: InterruptPtr | null, err: ErrorOut): number;
  start(interrupt: InterruptPtr | null, err: ErrorOut): Promise<number>;
  result(): Clusters;
}

function modeOf(value: unknown): ClusterMode {
  if (value === undefined) return 'cover';
  if (value !== 'cover' && value !== 'components') {
    throw invalidArgument(`mode must be 'cover' or 'components', got ${describe(value)}`);
  }
  return value;
}

function numberOf(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgument(`${name} must be a number, got ${describe(value)}`);
  return value;
}

interface ExactArguments {
  readonly options: NativeSignatureOptions;
  readonly texts: Uint8Array;
  readonly offsets: BigUint64Array;
  readonly threshold: number;
}

function exactOf(value: unknown, count: number): ExactArguments | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') throw invalidArgument(`exact must be an object, got ${describe(value)}`);
  const check = value as ExactCheck;
  const packed = packDocuments(check.texts);
  if (packed.ndocs !== count) {
    throw invalidArgument(`exact.texts has ${packed.ndocs} documents, but the index has ${count} rows`);
  }
  return {
    options: nativeOptionsOf(check), texts: packed.texts, offsets: packed.offsets,
    threshold: numberOf(check.threshold, 'exact.threshold'),
  };
}

/** Checks the arguments and makes the outputs of a clustering of the
 * `count` rows of the index `handle`. */
export function prepareCluster(handle: IndexPtr, count: number, threshold: unknown, options: unknown): ClusterCall {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalidArgument(`options must be an object, got ${describe(options)}`);
  }
  const o = (options ?? {}) as ClusterOptions;
  const t = numberOf(threshold, 'threshold');
  const mode = modeOf(o.mode);
  const nativeMode = mode === 'cover' ? NativeClusterMode.COVER : NativeClusterMode.COMPONENTS;
  const exact = exactOf(o.exact, count);
  const representatives = new BigInt64Array(count);
  const similarities = o.similarities === false ? null : new Float64Array(count);
  return {
    buffers: [representatives, similarities, exact?.texts, exact?.offsets],
    run: (interrupt, err) => (exact === null
      ? native.minhashLshClusterWithInterrupt(handle, t, nativeMode, representatives, similarities, count, interrupt,
        err)
      : native.minhashLshClusterExactWithInterrupt(handle, t, nativeMode, exact.options, exact.texts,
        exact.texts.byteLength, exact.offsets, exact.threshold, representatives, similarities, count, interrupt,
        err)),
    start: (interrupt, err) => (exact === null
      ? native.async.minhashLshClusterWithInterrupt(handle, t, nativeMode, representatives, similarities, count,
        interrupt, err)
      : native.async.minhashLshClusterExactWithInterrupt(handle, t, nativeMode, exact.options, exact.texts,
        exact.texts.byteLength, exact.offsets, exact.threshold, representatives, similarities, count, interrupt,
        err)),
    result: () => new Clusters(mode, representatives, similarities),
  };
}

// ---------------------------------------------------------------------------
// The self-join's size
// ---------------------------------------------------------------------------

/** What a self-join at a threshold would return, known before it runs. */
export interface JoinEstimate {
  /** The pairs the join returns: exact when `candidates` is at most 2^22,
   * else estimated from a fixed sample (the same on every run). */
  readonly pairs: number;
  /** Pairs of rows sharing a band key, counted once per band they share:
   * an upper bound of `pairs`. */
  readonly candidates: number;
}

export interface JoinEstimateCall {
  readonly buffers: readonly unknown[];
  run(interrupt: InterruptPtr | null, err: ErrorOut): number;
  start(interrupt: InterruptPtr | null, err: ErrorOut): Promise<number>;
  result(): JoinEstimate;
}

export function prepareJoinEstimate(handle: IndexPtr, threshold: unknown): JoinEstimateCall {
  const t = numberOf(threshold, 'threshold');
  const pairs: CountOut = [0];
  const candidates: CountOut = [0];
  return {
    buffers: [pairs, candidates],
    run: (interrupt, err) => native.minhashLshSelfJoinEstimateWithInterrupt(handle, t, pairs, candidates,
      interrupt, err),
    start: (interrupt, err) => native.async.minhashLshSelfJoinEstimateWithInterrupt(handle, t, pairs, candidates,
      interrupt, err),
    result: () => ({ pairs: Number(pairs[0]), candidates: Number(candidates[0]) }),
  };
}
