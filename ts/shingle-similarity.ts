/**
 * Exact similarity of documents (knowhere_shingle_jaccard*): the Jaccard
 * similarity |A ∩ B| / |A ∪ B| of two documents' shingle sets, the quantity
 * that comparing their signatures estimates. For verifying candidate pairs:
 *
 *   const join = index.selfJoin(0.7);                  // estimates, low bar
 *   const exact = await shingleSimilaritiesAsync(texts, join.left, join.right);
 *
 * The shingles are the signatures' own (the library's normalisation and
 * shingling, docs/signatures.md; the shingle options apply, numHashes,
 * valueBytes and seed do not), each taken as its 64-bit XXH3, so two
 * different shingles count as one with probability about S² / 2^65 for S
 * shingles. Two documents without shingles have similarity 1, one without
 * against one with 0.
 */
import { type ProgressOptions, idsOf, ownedIdsOf, runAsync } from './async-call.ts';
import { invalidArgument, throwIfFailed } from './errors.ts';
import {
  native, newErrorOut, newSizeOut, syncErrorOut, type NativeSignatureOptions, type SimilarityOut,
} from './native.ts';
import {
  type Document, type PackedDocuments, type SignatureOptions, documentBytes, nativeOptionsOf, packDocuments,
  threadsOf,
} from './signature.ts';
import type { PairIds } from './threshold.ts';

export interface ShingleSimilaritiesOptions extends SignatureOptions, ProgressOptions {
  /** Threads; 0 (default) is one per core. */
  readonly threads?: number | undefined;
}

/** The exact Jaccard similarity of the shingle sets of two documents. */
export function shingleSimilarity(a: Document, b: Document, options?: SignatureOptions): number {
  const nativeOptions = nativeOptionsOf(options);
  const x = documentBytes(a, 'a');
  const y = documentBytes(b, 'b');
  const similarity: SimilarityOut = [0];
  const err = newErrorOut();
  throwIfFailed(native.shingleJaccard(nativeOptions, x, x.byteLength, y, y.byteLength, similarity, err), err);
  return similarity[0];
}

interface PairArguments extends PackedDocuments {
  readonly options: NativeSignatureOptions;
  readonly left: BigInt64Array;
  readonly right: BigInt64Array;
  readonly similarities: Float64Array;
  readonly threads: number;
}

/** `owned`: for an async call, the ids in memory the binding owns (the
 * texts are packed into a new buffer anyway). */
function pairArguments(texts: unknown, left: unknown, right: unknown,
                       options: ShingleSimilaritiesOptions | undefined, owned = false): PairArguments {
  const nativeOptions = nativeOptionsOf(options);
  const threads = threadsOf(options);
  const ids = owned ? ownedIdsOf : idsOf;
  const l = ids(left, 'left');
  const r = ids(right, 'right');
  if (l.length !== r.length) {
    throw invalidArgument(`left and right must have the same length, got ${l.length} and ${r.length}`);
  }
  return {
    ...packDocuments(texts), options: nativeOptions, left: l, right: r,
    similarities: new Float64Array(l.length), threads,
  };
}

/**
 * The exact similarities of pairs of documents of `texts`: element i is
 * that of texts[left[i]] and texts[right[i]]. Each document in a pair is
 * shingled once, on the library's threads (this thread waits: use
 * shingleSimilaritiesAsync to keep the event loop free). An id outside the
 * texts is KnowhereError INVALID_ARG naming the pair.
 */
export function shingleSimilarities(texts: readonly Document[], left: PairIds, right: PairIds,
                                    options?: ShingleSimilaritiesOptions): Float64Array {
  const args = pairArguments(texts, left, right, options);
  const err = newErrorOut();
  throwIfFailed(native.shingleJaccardPairsWithInterrupt(
    args.options, args.texts, args.texts.byteLength, args.offsets, args.ndocs, args.left, args.right,
    args.left.length, args.similarities, args.threads, null, err), err);
  return args.similarities;
}

/**
 * shingleSimilarities on the thread pool: cancellable with `signal` /
 * `interrupt` (InterruptedError, or TimeoutError for a deadline), with
 * `onProgress` in phase 'verify' (units: documents shingled, then pairs).
 */
export async function shingleSimilaritiesAsync(texts: readonly Document[], left: PairIds, right: PairIds,
                                               options?: ShingleSimilaritiesOptions): Promise<Float64Array> {
  const args = pairArguments(texts, left, right, options, true);
  await runAsync(options ?? {}, [args.texts, args.offsets, args.left, args.right, args.similarities],
    (interrupt, err) => native.async.shingleJaccardPairsWithInterrupt(
      args.options, args.texts, args.texts.byteLength, args.offsets, args.ndocs, args.left, args.right,
      args.left.length, args.similarities, args.threads, interrupt, err), { phase: 'verify' });
  return args.similarities;
}

// ---------------------------------------------------------------------------
// Shingle sets kept by the caller
// ---------------------------------------------------------------------------

/** Reused by shingleSet: the distinct shingles of a document are at most
 * its byte count, so one call fills it (a second call to learn the count
 * would shingle the text twice). Sync calls only: JS runs one at a time. */
let setScratch = new BigUint64Array(1024);
const countScratch = newSizeOut();

/**
 * A document's shingles as sorted distinct 64-bit hashes (8 bytes per
 * shingle): keep it to compare the document later with
 * shingleSetSimilarity, exactly as shingleSimilarity compares texts,
 * without shingling it again.
 */
export function shingleSet(text: Document, options?: SignatureOptions): BigUint64Array {
  return shingleSetOf(documentBytes(text, 'text'), nativeOptionsOf(options));
}

/** shingleSet for callers that checked the text and options already. */
export function shingleSetOf(bytes: Uint8Array, options: NativeSignatureOptions): BigUint64Array {
  if (setScratch.length < bytes.byteLength + 1) setScratch = new BigUint64Array(bytes.byteLength + 1);
  const err = syncErrorOut;
  throwIfFailed(native.shingleSet(options, bytes, bytes.byteLength, setScratch, setScratch.length, countScratch, err),
    err);
  return setScratch.slice(0, Number(countScratch[0]));
}

/**
 * A document's signature (4-byte values, written into `signature`, which
 * must hold num_hashes of them) and shingle set in one pass: what
 * signatureFromText and shingleSet give. For the binding's callers that
 * checked the text and options already. The set returned is a view of a
 * reused buffer, valid until the next call of this function or shingleSetOf:
 * copy it to keep it (ShingleSetStore.push does).
 */
export function signatureAndShingleSetOf(bytes: Uint8Array, options: NativeSignatureOptions,
                                         signature: Uint32Array): BigUint64Array {
  if (setScratch.length < bytes.byteLength + 1) setScratch = new BigUint64Array(bytes.byteLength + 1);
  const err = syncErrorOut;
  throwIfFailed(native.signatureAndShingleSet(options, bytes, bytes.byteLength, signature, signature.byteLength,
    setScratch, setScratch.length, countScratch, err), err);
  return setScratch.subarray(0, Number(countScratch[0]));
}

/** The exact Jaccard similarity of two shingle sets (as shingleSet makes
 * them): shingleSimilarity of their texts. */
export function shingleSetSimilarity(a: BigUint64Array, b: BigUint64Array): number {
  if (!(a instanceof BigUint64Array) || !(b instanceof BigUint64Array)) {
    throw invalidArgument('shingle sets must be BigUint64Arrays (from shingleSet)');
  }
  return native.shingleSetJaccard(a, a.length, b, b.length);
}

/**
 * The shingle sets of packed documents whose distinct shingle counts are
 * known (a signature batch's shingleCounts), on the thread pool: one
 * buffer, split into per-document views.
 */
export async function shingleSetsOfPackedAsync(packed: PackedDocuments, counts: Uint32Array,
                                               options: NativeSignatureOptions,
                                               async: ProgressOptions & { readonly threads?: number | undefined }):
  Promise<BigUint64Array[]> {
  const outOffsets = new BigUint64Array(packed.ndocs + 1);
  let total = 0;
  for (let d = 0; d < packed.ndocs; d++) {
    total += counts[d] ?? 0;
    outOffsets[d + 1] = BigInt(total);
  }
  const out = new BigUint64Array(total);
  await runAsync(async, [packed.texts, packed.offsets, out, outOffsets], (interrupt, err) =>
    native.async.shingleSetsWithInterrupt(options, packed.texts, packed.texts.byteLength, packed.offsets,
      packed.ndocs, out, total, outOffsets, threadsOf(async), interrupt, err), { phase: 'sign', total: packed.ndocs });
  const sets: BigUint64Array[] = [];
  for (let d = 0; d < packed.ndocs; d++) sets.push(out.subarray(Number(outOffsets[d]), Number(outOffsets[d + 1])));
  return sets;
}

/**
 * The shingle sets of an index's rows, end to end in one growing array (so
 * that a query is compared with all its candidates in one native call,
 * not one call each). Rows are appended in order; a cleared row keeps its
 * place, with no set.
 */
export class ShingleSetStore {
  #arena = new BigUint64Array(4096);
  #used = 0;
  #start = new BigUint64Array(256);
  #count = new Uint32Array(256);
  #rows = 0;
  #similarities = new Float64Array(64);

  /** Rows stored (cleared ones included). */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#arena.byteLength + this.#start.byteLength + this.#count.byteLength;
  }

  /** Appends the set of the next row. */
  push(set: BigUint64Array): void {
    if (this.#used + set.length > this.#arena.length) {
      const grown = new BigUint64Array(Math.max(2 * this.#arena.length, this.#used + set.length));
      grown.set(this.#arena.subarray(0, this.#used));
      this.#arena = grown;
    }
    if (this.#rows === this.#start.length) {
      const start = new BigUint64Array(2 * this.#rows);
      start.set(this.#start);
      this.#start = start;
      const count = new Uint32Array(2 * this.#rows);
      count.set(this.#count);
      this.#count = count;
    }
    this.#arena.set(set, this.#used);
    this.#start[this.#rows] = BigInt(this.#used);
    this.#count[this.#rows] = set.length;
    this.#used += set.length;
    this.#rows++;
  }

  /** Forgets a row's set (its space stays until the store is rebuilt). */
  clear(row: number): void {
    this.#count[row] = 0;
  }

  /** Row `row`'s set (a view). */
  set(row: number): BigUint64Array {
    const start = Number(this.#start[row]);
    return this.#arena.subarray(start, start + (this.#count[row] ?? 0));
  }

  /** The exact similarity of `query` with each row of `ids`: element i of
   * the array returned, a reused buffer (valid until the next call). */
  similarities(query: BigUint64Array, ids: BigInt64Array): Float64Array {
    if (this.#similarities.length < ids.length) this.#similarities = new Float64Array(Math.max(64, ids.length));
    const out = this.#similarities;
    if (ids.length === 0) return out;
    const err = syncErrorOut;
    throwIfFailed(native.shingleSetJaccardRows(query, query.length, this.#arena, this.#used, this.#start, this.#count,
      this.#rows, ids, ids.length, out, err), err);
    return out;
  }
}
