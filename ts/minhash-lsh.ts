/**
 * MinHashLSHIndex: the spec's MinHash-LSH index over knowhere_minhash_lsh_*.
 *
 * The C library validates every parameter and its messages are surfaced as
 * they are; this module only checks what C cannot see (JS types, numbers
 * that are not non-negative integers, the length of a filter buffer) and
 * keeps native memory safe around async calls.
 *
 * Async calls copy the caller's buffers first (ownedBytesOf: the caller may
 * detach or resize its own while C runs), then run on the libuv thread pool
 * through runAsync (ts/async-call.ts), which queues them, holds the index,
 * every buffer passed to C and the call's interrupt flag while the call is
 * in flight (koffi does not keep them alive, and a GC would free memory that
 * C is still reading or writing), and polls progress (`onProgress`) on the
 * main thread.
 */
import { fileURLToPath } from 'node:url';

import {
  allocate, booleanOf, bytesOf, countOf, describe, idsOf, interruptOf, ownedBytesOf, ownedCopy, resultMemory, runAsync, viewOf,
  type AsyncOptions, type ProgressOptions, type ProgressSpec,
} from './async-call.ts';
import {
  checkRow, discardError, invalidArgument, KnowhereError, Status, throwIfFailed, throwIfStatus,
} from './errors.ts';
import { type Interrupt, interruptHandle } from './interrupt.ts';
import {
  native, newBufferOut, newErrorOut, newLengthOut, newPairsOut, newRangeResultOut, syncErrorOut, type BufferOut,
  type CountOut,
  type ErrorOut, type IndexPtr, type InterruptPtr, type LengthOut, type PairsOut, type RangeResultOut,
} from './native.ts';
import { RangeSearchResult, SelfJoinResult } from './threshold.ts';
import {
  prepareCluster, prepareJoinEstimate, type ClusterOptions, type Clusters, type JoinEstimate,
} from './cluster.ts';
import {
  nativeOptionsOf, signatureSchemeOf, type SignatureOptions, type SignatureScheme,
} from './signature.ts';

export type {
  AsyncOptions, Progress, ProgressCallback, ProgressOptions, ProgressPhase,
} from './async-call.ts';

/** Signatures laid end to end. Any TypedArray or DataView is passed as
 * bytes (its element type is independent of `elementSize`): zero-copy to a
 * sync method; an async method copies it first (the caller may change,
 * detach or resize it as soon as the method returns). */
export type SignatureData = ArrayBufferView;

/** Ids to exclude: a set bit EXCLUDES its id (LSB-first within each byte), and
 * ids at or beyond `bits` are excluded too. A bare Uint8Array has
 * `byteLength * 8` bits. */
export type Filter = Uint8Array | { readonly bytes: Uint8Array; readonly bits: number };

/** The k best matches of one query: id -1 and distance 0 in unused slots.
 * The "distance" is a similarity in [0, 1], larger is closer. */
export interface SearchResult {
  readonly ids: BigInt64Array;
  readonly distances: Float32Array;
}

/** A file path: a string (encoded as UTF-8), a `file:` URL, or the raw
 * bytes of a path (a Buffer or Uint8Array, passed as they are). Relative
 * paths are resolved against the process's working directory. */
export type PathLike = string | URL | Uint8Array;

export interface AsyncSearchOptions extends AsyncOptions {
  readonly filter?: Filter | null | undefined;
}

/** batchSearchAsync's options: a filter and progress (phase 'search', total
 * = nq; a batch of one query reports only the final call). */
export interface AsyncBatchSearchOptions extends AsyncSearchOptions, ProgressOptions {}

/** rangeSearch's options: a filter, as for search. */
export interface RangeSearchOptions {
  readonly filter?: Filter | null | undefined;
}

/** rangeSearchAsync's options: a filter and progress (phase 'search', total
 * = nq; a range search of one query reports only the final call). */
export interface AsyncRangeSearchOptions extends RangeSearchOptions, ProgressOptions {}

/** nq rows of k results, row-major. */
export class BatchSearchResult {
  readonly nq: number;
  readonly k: number;
  /** nq * k ids; query q's are ids[q * k .. q * k + k - 1]. */
  readonly ids: BigInt64Array;
  /** nq * k similarities, laid out as `ids`. */
  readonly distances: Float32Array;

  constructor(nq: number, k: number, ids: BigInt64Array, distances: Float32Array) {
    this.nq = nq;
    this.k = k;
    this.ids = ids;
    this.distances = distances;
  }

  /** Views (no copy) of query q's results. */
  row(q: number): SearchResult {
    checkRow(q, this.nq, `the batch has ${this.nq} queries`);
    const start = q * this.k;
    return {
      ids: this.ids.subarray(start, start + this.k),
      distances: this.distances.subarray(start, start + this.k),
    };
  }
}

// ---------------------------------------------------------------------------
// Argument checks (only what the C library cannot see)
// ---------------------------------------------------------------------------


/** A path as the NUL-terminated bytes C expects. A NUL inside would cut
 * the path short in C, so it is refused here. */
function pathOf(value: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') {
    bytes = Buffer.from(value, 'utf8');
  } else if (value instanceof URL) {
    let filePath: string;
    try {
      filePath = fileURLToPath(value);
    } catch (error) {
      throw invalidArgument(`path: ${error instanceof Error ? error.message : String(error)}`);
    }
    bytes = Buffer.from(filePath, 'utf8');
  } else if (value instanceof Uint8Array) {
    bytes = value;
  } else {
    throw invalidArgument(`path must be a string, a file: URL or a Uint8Array, got ${describe(value)}`);
  }
  if (bytes.includes(0)) throw invalidArgument('path must not contain a NUL character');
  const terminated = new Uint8Array(bytes.byteLength + 1);
  terminated.set(bytes);
  return terminated;
}


interface NativeFilter {
  readonly bytes: Uint8Array | null;
  readonly bits: number;
}

const NO_FILTER: NativeFilter = { bytes: null, bits: 0 };

/** C reads ceil(bits / 8) bytes and cannot know the buffer's size: check it. */
function filterOf(value: unknown): NativeFilter {
  if (value === null || value === undefined) return NO_FILTER;
  if (ArrayBuffer.isView(value)) {
    const bytes = bytesOf(value, 'filter');
    return { bytes, bits: bytes.byteLength * 8 };
  }
  if (typeof value === 'object' && 'bytes' in value && 'bits' in value) {
    const bytes = bytesOf(value.bytes, 'filter.bytes');
    const bits = countOf(value.bits, 'filter.bits');
    if (Math.ceil(bits / 8) > bytes.byteLength) {
      throw invalidArgument(`filter.bits (${bits}) needs ${Math.ceil(bits / 8)} bytes, filter.bytes has ${bytes.byteLength}`);
    }
    return { bytes, bits };
  }
  throw invalidArgument(`filter must be a Uint8Array or { bytes, bits }, got ${describe(value)}`);
}

/** filterOf for an async call: the bytes copied into memory the binding
 * owns (see ownedBytesOf). */
function ownedFilterOf(value: unknown): NativeFilter {
  const filter = filterOf(value);
  return filter.bytes === null ? filter : { bytes: ownedCopy(filter.bytes, 'filter'), bits: filter.bits };
}

/** Copies a buffer the library returned into JS memory and frees it (also
 * when the copy fails). Clears `out`, so a second call frees nothing. */
function takeLibraryBuffer(out: BufferOut, length: LengthOut): Uint8Array {
  const buffer = out[0];
  out[0] = null;
  if (buffer === null) {
    throw new KnowhereError(Status.INTERNAL, 'serialize succeeded but returned no buffer');
  }
  try {
    const bytes = Number(length[0]);
    return allocate(`${bytes} bytes of serialized index`, () => native.bufferCopy(buffer, bytes));
  } finally {
    native.bufferFree(buffer);
  }
}

/** Frees what is left in `out` (after a failure, or if nobody took it). */
function releaseLibraryBuffer(out: BufferOut): void {
  const buffer = out[0];
  out[0] = null;
  native.bufferFree(buffer);
}

/** A similarity threshold as a number (C checks its range). */
function thresholdOf(value: unknown): number {
  if (typeof value !== 'number') throw invalidArgument(`threshold must be a number, got ${describe(value)}`);
  return value;
}

/** Copies a range result out of C memory (freed by releaseRangeResult). */
function takeRangeResult(out: RangeResultOut, nq: number): RangeSearchResult {
  const result = out[0];
  if (result === null) throw new KnowhereError(Status.INTERNAL, 'range search succeeded but returned no result');
  const copy = native.rangeResultCopy(result);
  return new RangeSearchResult(nq, copy.lims, copy.ids, copy.distances);
}

function releaseRangeResult(out: RangeResultOut): void {
  const result = out[0];
  out[0] = null;
  native.rangeResultFree(result);
}

/** Copies a pair list out of C memory (freed by releasePairs). */
function takePairs(out: PairsOut): SelfJoinResult {
  const pairs = out[0];
  if (pairs === null) throw new KnowhereError(Status.INTERNAL, 'self-join succeeded but returned no pairs');
  const copy = native.pairsCopy(pairs);
  return new SelfJoinResult(copy.left, copy.right, copy.similarity);
}

function releasePairs(out: PairsOut): void {
  const pairs = out[0];
  out[0] = null;
  native.pairsFree(pairs);
}

/** Output buffers for `slots` results; C writes every slot. One piece of
 * resultMemory for both arrays (pooled when small). */
function resultBuffers(slots: number): { ids: BigInt64Array; distances: Float32Array } {
  // The message is made only on failure: a search's k result slots are
  // allocated on every call.
  const { buffer, byteOffset } = slots <= 64 ? resultMemory(12 * slots)
    : allocate(`${slots} result slots`, () => resultMemory(12 * slots));
  return {
    ids: new BigInt64Array(buffer, byteOffset, slots),
    distances: new Float32Array(buffer, byteOffset + 8 * slots, slots),
  };
}


// ---------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------

const finalizer = new FinalizationRegistry<IndexPtr>((handle) => native.minhashLshFree(handle));

/**
 * What a call does to the index, for the busy rules (the C guard's, checked
 * here first so that a call that would be BUSY fails before any work):
 * - 'read': searches, saves, getVectorByIds: any number at once, and while
 *   a build replaces the index (they keep reading the state they started
 *   with);
 * - 'replace': build: one writer at a time, not waiting for readers;
 * - 'write': add, remove, close: they change what readers read, so nothing
 *   else may be in flight.
 */
type Access = 'read' | 'replace' | 'write';

/** The shape of an index, named (build's options form). */
export interface BuildShape {
  /** Values per signature (K). */
  readonly mhVecLength: number;
  /** Bytes per value: 4 for Uint32Array signatures, 8 for BigUint64Array. */
  readonly elementSize: number;
  /** Bands (at most mhVecLength); chooseBands picks them for a threshold. */
  readonly bands: number;
  /** Keep a copy of the signatures (exact similarities, getVectorByIds). */
  readonly withRawData: boolean;
  /**
   * With withRawData: 0 (the default) keeps the full values; 8 or 16 keeps
   * a b-bit code of each value instead (its low bits: b-bit MinHash), for
   * verification and ranking at length * b / 8 bytes a signature.
   * Similarities are then the fraction of equal codes corrected for their
   * accidental equality (knowhere_minhash_lsh_set_raw_bits in
   * knowhere_rs.h), and getVectorByIds fails (INVALID_ARG). The codes must
   * be narrower than the values (elementSize > b / 8).
   */
  readonly rawBits?: RawBits | undefined;
}

/** The raw forms an index can keep: full values (0) or b-bit codes. */
export type RawBits = 0 | 8 | 16;

/** search's options form. */
export interface SearchOptions {
  /** How many matches. */
  readonly k: number;
  readonly filter?: Filter | null | undefined;
}

function shapeOf(shapeOrLength: BuildShape | number, elementSize: number | undefined, bands: number | undefined,
                 withRawData: boolean | undefined): BuildShape {
  if (typeof shapeOrLength === 'number') {
    return {
      mhVecLength: shapeOrLength, elementSize: elementSize as number, bands: bands as number,
      withRawData: withRawData as boolean,
    };
  }
  if (typeof shapeOrLength !== 'object' || shapeOrLength === null) {
    throw invalidArgument('build takes (data, { mhVecLength, elementSize, bands, withRawData }) or ' +
      '(data, mhVecLength, elementSize, bands, withRawData)');
  }
  for (const name of ['mhVecLength', 'elementSize', 'bands', 'withRawData'] as const) {
    if (shapeOrLength[name] === undefined) throw invalidArgument(`build option ${name} is missing`);
  }
  return shapeOrLength;
}

function searchOptionsOf(options: SearchOptions): SearchOptions {
  if (typeof options !== 'object' || options === null || options.k === undefined) {
    throw invalidArgument('search takes (query, { k, filter }) or (query, k, filter)');
  }
  return options;
}

/**
 * For NearDuplicateIndex (not exported from the package): a search of one
 * signature into result buffers the caller owns and reuses, so that a call
 * allocates nothing. The buffers must hold k results; the query is
 * validated by C as search's is.
 */
export let searchInto: (index: MinHashLSHIndex, query: ArrayBufferView, k: number, ids: BigInt64Array,
                        distances: Float32Array) => void;

export class MinHashLSHIndex implements Disposable {
  static {
    searchInto = (index, query, k, ids, distances) => {
      const handle = index.#live();
      if (ids.length < k || distances.length < k) throw invalidArgument(`searchInto: room for ${k} results needed`);
      index.#claim('read', 'search');
      const err = syncErrorOut;
      throwIfFailed(native.minhashLshSearchWithInterrupt(handle, query, query.byteLength, k, null, 0, ids, distances,
        null, err), err);
    };
  }

  #handle: IndexPtr | null;
  /** Async build / add calls in flight (at most one of them). */
  #asyncReplaces = 0;
  #asyncWrites = 0;
  /** Async searches and saves in flight (any number). */
  #asyncReads = 0;

  /** A new, empty index. */
  constructor() {
    const handle = native.minhashLshCreate();
    if (handle === null) {
      throw new KnowhereError(Status.NO_MEMORY, 'knowhere_minhash_lsh_create failed (out of memory)');
    }
    this.#handle = handle;
    finalizer.register(this, handle, this);
  }

  // --- build and add -------------------------------------------------------

  /**
   * Replaces the contents with the signatures of `data`: `mhVecLength`
   * values of `elementSize` bytes each, hashed in `bands` bands, keeping a
   * copy of the signatures when `withRawData` (exact similarities,
   * getVectorByIds). Either named, `build(data, { mhVecLength: 128,
   * elementSize: 4, bands: 16, withRawData: true })`, or positional as in
   * the specification, `build(data, 128, 4, 16, true)`.
   */
  build(data: SignatureData, shape: BuildShape): void;
  build(data: SignatureData, mhVecLength: number, elementSize: number, bands: number, withRawData: boolean): void;
  build(data: SignatureData, shapeOrLength: BuildShape | number, elementSize?: number, bands?: number,
        withRawData?: boolean): void {
    const shape = shapeOf(shapeOrLength, elementSize, bands, withRawData);
    this.#buildWithRawBits(data, shape.mhVecLength, shape.elementSize, shape.bands, shape.withRawData,
      shape.rawBits ?? 0, null);
  }

  buildWithInterrupt(data: SignatureData, mhVecLength: number, elementSize: number, bands: number,
                     withRawData: boolean, interrupt: Interrupt | null): void {
    this.#buildWithRawBits(data, mhVecLength, elementSize, bands, withRawData, 0, interrupt);
  }

  #buildWithRawBits(data: SignatureData, mhVecLength: number, elementSize: number, bands: number,
                    withRawData: boolean, rawBits: RawBits, interrupt: Interrupt | null): void {
    const handle = this.#live();
    const args = buildArguments(data, mhVecLength, elementSize, bands, withRawData);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('replace', 'build');
    const err = newErrorOut();
    // The C setting is read by the build; set it each time, so that a
    // build without rawBits keeps full values again.
    throwIfFailed(native.minhashLshSetRawBits(handle, rawBitsOf(rawBits), err), err);
    throwIfFailed(native.minhashLshBuildWithInterrupt(
      handle, args.bytes, args.bytes.byteLength, args.mhVecLength, args.elementSize, args.bands,
      args.withRawData, checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
  }

  /** Appends signatures laid out as for the build; ids continue. */
  add(data: SignatureData): void {
    this.addWithInterrupt(data, null);
  }

  addWithInterrupt(data: SignatureData, interrupt: Interrupt | null): void {
    const handle = this.#live();
    const bytes = viewOf(data, 'data');
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('write', 'add');
    const err = syncErrorOut;
    throwIfFailed(native.minhashLshAddWithInterrupt(
      handle, bytes, bytes.byteLength, checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
  }

  /** build on the thread pool: `buildAsync(data, { mhVecLength, elementSize,
   * bands, withRawData, signal, onProgress })`, or positional followed by
   * the async options. */
  async buildAsync(data: SignatureData, shape: BuildShape & ProgressOptions): Promise<void>;
  async buildAsync(data: SignatureData, mhVecLength: number, elementSize: number, bands: number,
                   withRawData: boolean, options?: ProgressOptions): Promise<void>;
  async buildAsync(data: SignatureData, shapeOrLength: (BuildShape & ProgressOptions) | number,
                   elementSizeArg?: number, bandsArg?: number, withRawDataArg?: boolean,
                   positionalOptions: ProgressOptions = {}): Promise<void> {
    const handle = this.#live();
    const { mhVecLength, elementSize, bands, withRawData, rawBits } = shapeOf(shapeOrLength, elementSizeArg,
      bandsArg, withRawDataArg);
    const options = typeof shapeOrLength === 'number' ? positionalOptions : shapeOrLength;
    const checked = buildArguments(data, mhVecLength, elementSize, bands, withRawData);
    const bits = rawBitsOf(rawBits ?? 0);
    const args = { ...checked, bytes: ownedCopy(checked.bytes, 'data') };
    await this.#runAsync('replace', 'build', options, [args.bytes], (interrupt, err) =>
      // Set just before the build starts, under the same claim (no other
      // build can run between the two).
      native.minhashLshSetRawBits(handle, bits, err) !== Status.OK ? Promise.resolve(Status.INVALID_ARG) :
      native.async.minhashLshBuildWithInterrupt(
        handle, args.bytes, args.bytes.byteLength, args.mhVecLength, args.elementSize, args.bands,
        args.withRawData, interrupt, err), { phase: 'build' });
  }

  async addAsync(data: SignatureData, options: ProgressOptions = {}): Promise<void> {
    const handle = this.#live();
    const bytes = ownedBytesOf(data, 'data');
    await this.#runAsync('write', 'add', options, [bytes], (interrupt, err) =>
      native.async.minhashLshAddWithInterrupt(handle, bytes, bytes.byteLength, interrupt, err), { phase: 'add' });
  }

  /** Merges the rows added since the tables were made into them, band by
   * band (knowhere_minhash_lsh_compact_with_interrupt): answers do not
   * change; a self-join, clustering or save after many adds then needs no
   * merged copy of the tables. Interrupted, the index answers as before. */
  compact(): void {
    const handle = this.#live();
    this.#claim('write', 'compact');
    const err = newErrorOut();
    throwIfFailed(native.minhashLshCompactWithInterrupt(handle, null, err), err);
  }

  async compactAsync(options: ProgressOptions = {}): Promise<void> {
    const handle = this.#live();
    await this.#runAsync('write', 'compact', options, [], (interrupt, err) =>
      native.async.minhashLshCompactWithInterrupt(handle, interrupt, err), { phase: 'add' });
  }

  // --- search --------------------------------------------------------------

  /** The `k` best matches of one signature, most similar first (ids -1
   * past the matches there are): `search(query, { k: 10, filter })` or
   * `search(query, 10, filter)`. */
  search(query: SignatureData, options: SearchOptions): SearchResult;
  search(query: SignatureData, k: number, filter?: Filter | null): SearchResult;
  search(query: SignatureData, kOrOptions: number | SearchOptions, filter?: Filter | null): SearchResult {
    if (typeof kOrOptions === 'number') return this.searchWithInterrupt(query, kOrOptions, filter ?? null, null);
    const options = searchOptionsOf(kOrOptions);
    return this.searchWithInterrupt(query, options.k, options.filter ?? null, null);
  }

  searchWithInterrupt(query: SignatureData, k: number, filter: Filter | null | undefined,
                      interrupt: Interrupt | null): SearchResult {
    const handle = this.#live();
    const bytes = viewOf(query, 'query');
    const checkedK = countOf(k, 'k');
    const bitset = filterOf(filter);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('read', 'search');
    const result = resultBuffers(checkedK);
    const err = syncErrorOut;
    throwIfFailed(native.minhashLshSearchWithInterrupt(
      handle, bytes, bytes.byteLength, checkedK, bitset.bytes, bitset.bits, result.ids, result.distances,
      checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
    return result;
  }

  /** nq queries laid end to end; row q equals search(query q). */
  batchSearch(queries: SignatureData, nq: number, k: number, filter?: Filter | null): BatchSearchResult {
    return this.batchSearchWithInterrupt(queries, nq, k, filter ?? null, null);
  }

  batchSearchWithInterrupt(queries: SignatureData, nq: number, k: number, filter: Filter | null | undefined,
                           interrupt: Interrupt | null): BatchSearchResult {
    const handle = this.#live();
    const bytes = bytesOf(queries, 'queries');
    const checkedNq = countOf(nq, 'nq');
    const checkedK = countOf(k, 'k');
    const bitset = filterOf(filter);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('read', 'batch search');
    const result = resultBuffers(checkedNq * checkedK);
    const err = newErrorOut();
    throwIfFailed(native.minhashLshBatchSearchWithInterrupt(
      handle, bytes, bytes.byteLength, checkedNq, checkedK, bitset.bytes, bitset.bits, result.ids,
      result.distances, checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
    return new BatchSearchResult(checkedNq, checkedK, result.ids, result.distances);
  }

  /** search on the thread pool: `searchAsync(query, { k, filter, signal })`
   * or `searchAsync(query, k, { filter, signal })`. */
  async searchAsync(query: SignatureData, options: SearchOptions & AsyncSearchOptions): Promise<SearchResult>;
  async searchAsync(query: SignatureData, k: number, options?: AsyncSearchOptions): Promise<SearchResult>;
  async searchAsync(query: SignatureData, kOrOptions: number | (SearchOptions & AsyncSearchOptions),
                    positionalOptions: AsyncSearchOptions = {}): Promise<SearchResult> {
    const handle = this.#live();
    const options = typeof kOrOptions === 'number' ? positionalOptions : kOrOptions;
    const k = typeof kOrOptions === 'number' ? kOrOptions : searchOptionsOf(kOrOptions).k;
    const bytes = ownedBytesOf(query, 'query');
    const checkedK = countOf(k, 'k');
    const bitset = ownedFilterOf(options.filter);
    const result = resultBuffers(checkedK);
    await this.#runAsync('read', 'search', options, [bytes, bitset.bytes, result.ids, result.distances],
      (interrupt, err) => native.async.minhashLshSearchWithInterrupt(
        handle, bytes, bytes.byteLength, checkedK, bitset.bytes, bitset.bits, result.ids, result.distances,
        interrupt, err));
    return result;
  }

  async batchSearchAsync(queries: SignatureData, nq: number, k: number,
                         options: AsyncBatchSearchOptions = {}): Promise<BatchSearchResult> {
    const handle = this.#live();
    const bytes = ownedBytesOf(queries, 'queries');
    const checkedNq = countOf(nq, 'nq');
    const checkedK = countOf(k, 'k');
    const bitset = ownedFilterOf(options.filter);
    const result = resultBuffers(checkedNq * checkedK);
    await this.#runAsync('read', 'batch search', options, [bytes, bitset.bytes, result.ids, result.distances],
      (interrupt, err) => native.async.minhashLshBatchSearchWithInterrupt(
        handle, bytes, bytes.byteLength, checkedNq, checkedK, bitset.bytes, bitset.bits, result.ids,
        result.distances, interrupt, err), { phase: 'search', total: checkedNq });
    return new BatchSearchResult(checkedNq, checkedK, result.ids, result.distances);
  }

  // --- thresholds: range search and self-join -------------------------------

  /**
   * Every indexed signature sharing a band with each of the nq queries (laid
   * end to end) whose similarity, as search computes it, is >= threshold
   * (0..1), sorted by similarity descending then id ascending. On the
   * library's threads; this thread waits. The similarity is compared as
   * reported: the exact fraction rounded once to float, so an identical
   * signature is exactly 1 and threshold 1 selects exact duplicates.
   */
  rangeSearch(queries: SignatureData, nq: number, threshold: number,
              options: RangeSearchOptions = {}): RangeSearchResult {
    return this.rangeSearchWithInterrupt(queries, nq, threshold, options, null);
  }

  rangeSearchWithInterrupt(queries: SignatureData, nq: number, threshold: number, options: RangeSearchOptions,
                           interrupt: Interrupt | null): RangeSearchResult {
    const handle = this.#live();
    const bytes = bytesOf(queries, 'queries');
    const checkedNq = countOf(nq, 'nq');
    const checkedThreshold = thresholdOf(threshold);
    const bitset = filterOf(options.filter);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('read', 'range search');
    const out = newRangeResultOut();
    try {
      const err = newErrorOut();
      throwIfFailed(native.minhashLshRangeSearchWithInterrupt(
        handle, bytes, bytes.byteLength, checkedNq, checkedThreshold, bitset.bytes, bitset.bits, out,
        checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
      return takeRangeResult(out, checkedNq);
    } finally {
      releaseRangeResult(out);
    }
  }

  /** rangeSearch on the thread pool, cancellable, with progress (phase
   * 'search', units: queries). */
  async rangeSearchAsync(queries: SignatureData, nq: number, threshold: number,
                         options: AsyncRangeSearchOptions = {}): Promise<RangeSearchResult> {
    const handle = this.#live();
    const bytes = ownedBytesOf(queries, 'queries');
    const checkedNq = countOf(nq, 'nq');
    const checkedThreshold = thresholdOf(threshold);
    const bitset = ownedFilterOf(options.filter);
    const out = newRangeResultOut();
    try {
      await this.#runAsync('read', 'range search', options, [bytes, bitset.bytes, out], (interrupt, err) =>
        native.async.minhashLshRangeSearchWithInterrupt(
          handle, bytes, bytes.byteLength, checkedNq, checkedThreshold, bitset.bytes, bitset.bits, out, interrupt,
          err), { phase: 'search', total: checkedNq });
      return takeRangeResult(out, checkedNq);
    } finally {
      // #runAsync settles only after the native call returned.
      releaseRangeResult(out);
    }
  }

  /**
   * Every pair (i < j) of indexed signatures that share a band and whose
   * similarity is >= threshold (0..1), each once, sorted by (i, j): the
   * near-duplicate pairs of the index in one call. Similarities are those
   * search reports (exact fractions of equal values with raw data). On the
   * library's threads; this thread waits.
   */
  selfJoin(threshold: number): SelfJoinResult {
    return this.selfJoinWithInterrupt(threshold, null);
  }

  selfJoinWithInterrupt(threshold: number, interrupt: Interrupt | null): SelfJoinResult {
    const handle = this.#live();
    const checkedThreshold = thresholdOf(threshold);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('read', 'self-join');
    const out = newPairsOut();
    try {
      const err = newErrorOut();
      throwIfFailed(native.minhashLshSelfJoinWithInterrupt(
        handle, checkedThreshold, out, checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
      return takePairs(out);
    } finally {
      releasePairs(out);
    }
  }

  /** selfJoin on the thread pool, cancellable, with progress (phase
   * 'join', units: signatures). */
  async selfJoinAsync(threshold: number, options: ProgressOptions = {}): Promise<SelfJoinResult> {
    const handle = this.#live();
    const checkedThreshold = thresholdOf(threshold);
    const out = newPairsOut();
    try {
      await this.#runAsync('read', 'self-join', options, [out], (interrupt, err) =>
        native.async.minhashLshSelfJoinWithInterrupt(handle, checkedThreshold, out, interrupt, err),
      { phase: 'join' });
      return takePairs(out);
    } finally {
      releasePairs(out);
    }
  }

  // --- the signature scheme ------------------------------------------------

  /** The scheme of the signatures the index holds, as setSignatureScheme
   * recorded it or a loaded file held it; null when none is recorded. */
  get signatureScheme(): SignatureScheme | null {
    const err = newErrorOut();
    const got = native.minhashLshSignatureScheme(this.#live(), err);
    throwIfFailed(got.status, err);
    return got.version === 0 ? null : signatureSchemeOf(got.version, got.options);
  }

  /** Records that the index holds signatures made with `options` by this
   * library (null: no record). save() writes the record and load() restores
   * it, so that checkSignatureScheme can refuse queries made otherwise. */
  setSignatureScheme(options: SignatureOptions | null): void {
    const handle = this.#live();
    const nativeOptions = options === null ? null : nativeOptionsOf(options);
    const err = newErrorOut();
    throwIfFailed(native.minhashLshSetSignatureScheme(handle, nativeOptions, err), err);
  }

  /** Throws KnowhereError (INVALID_ARG, naming both schemes) when queries
   * made with `options` would not match the index's signatures: another
   * signature scheme version, or other options. Nothing to check (no throw)
   * when the index records no scheme. */
  checkSignatureScheme(options?: SignatureOptions): void {
    const handle = this.#live();
    const nativeOptions = nativeOptionsOf(options);
    const err = newErrorOut();
    throwIfFailed(native.minhashLshCheckSignatureScheme(handle, nativeOptions, err), err);
  }

  // --- clusters without pairs (ts/cluster.ts) -------------------------------

  /**
   * The clusters of the index's near-duplicates as the pairs of
   * selfJoin(threshold) define them ('cover', the default: each row kept or
   * given to the most similar kept row before it; 'components': connected
   * components), computed without making the pairs. See ts/cluster.ts.
   */
  cluster(threshold: number, options: ClusterOptions = {}): Clusters {
    const call = prepareCluster(this.#live(), this.count, threshold, options);
    this.#claim('read', 'cluster');
    const err = newErrorOut();
    throwIfFailed(call.run(null, err), err);
    return call.result();
  }

  /** cluster() on the thread pool, cancellable, with progress (phase
   * 'cluster', units: rows, counted once per step). */
  async clusterAsync(threshold: number, options: ClusterOptions & ProgressOptions = {}): Promise<Clusters> {
    const call = prepareCluster(this.#live(), this.count, threshold, options);
    await this.#runAsync('read', 'cluster', options, call.buffers, (interrupt, err) => call.start(interrupt, err),
      { phase: 'cluster' });
    return call.result();
  }

  /** How many pairs selfJoin(threshold) would return, known before it runs
   * (exact for few candidates, else sampled), and the candidate pairs. */
  selfJoinEstimate(threshold: number): JoinEstimate {
    const call = prepareJoinEstimate(this.#live(), threshold);
    this.#claim('read', 'self-join estimate');
    const err = newErrorOut();
    throwIfFailed(call.run(null, err), err);
    return call.result();
  }

  async selfJoinEstimateAsync(threshold: number, options: AsyncOptions = {}): Promise<JoinEstimate> {
    const call = prepareJoinEstimate(this.#live(), threshold);
    await this.#runAsync('read', 'self-join estimate', options, call.buffers,
      (interrupt, err) => call.start(interrupt, err));
    return call.result();
  }

  /**
   * Removes signatures: they no longer appear in any search, range search or
   * self-join, and getVectorByIds refuses them. Other ids do not change
   * (ids are row numbers), `count` still counts removed rows and
   * `removedCount` says how many are. Repeated and already removed ids are
   * fine; returns how many were newly removed. An id outside 0..count-1 is
   * KnowhereError INVALID_ARG naming it (nothing changes); EMPTY_INDEX on
   * an index never built. save / serialize keep the removals, add keeps
   * them, build clears them. Fast (a bitset), so there is no async form; it
   * is a writer like add (BUSY during any async call on the index).
   */
  remove(ids: BigInt64Array | readonly (number | bigint)[]): number {
    const handle = this.#live();
    const checkedIds = idsOf(ids);
    this.#claim('write', 'remove');
    const removed: CountOut = [0];
    const err = newErrorOut();
    throwIfFailed(native.minhashLshRemove(handle, checkedIds, checkedIds.length, removed, err), err);
    return Number(removed[0]);
  }

  /** Bytes of your own (a key table, options) saved with the index by
   * save / serialize and given back by load / deserialize; null or an empty
   * array removes them. Needs a built index. A build clears them; add and
   * remove keep them. The library never reads them. */
  setAppData(data: Uint8Array | null): void {
    const handle = this.#live();
    if (data !== null && !(data instanceof Uint8Array)) {
      throw invalidArgument(`app data must be a Uint8Array or null, got ${typeof data}`);
    }
    this.#claim('write', 'setAppData');
    const err = newErrorOut();
    throwIfFailed(native.minhashLshSetAppData(handle, data, data?.byteLength ?? 0, err), err);
  }

  /** The bytes setAppData stored (or a load brought back), or null. */
  getAppData(): Uint8Array | null {
    const handle = this.#live();
    this.#claim('read', 'getAppData');
    const size: CountOut = [0];
    let err = newErrorOut();
    const status = native.minhashLshGetAppData(handle, null, 0, size, err);
    if (status === Status.OVERFLOW) discardError(err); // the size is what this call asked for
    else throwIfFailed(status, err);
    const bytes = Number(size[0]);
    if (bytes === 0) return null;
    const out = new Uint8Array(bytes);
    err = newErrorOut();
    throwIfFailed(native.minhashLshGetAppData(handle, out, bytes, size, err), err);
    return out;
  }

  /** The raw signatures of `ids`, in order, laid end to end (needs an index
   * built with raw data; removed ids are INVALID_ARG). */
  getVectorByIds(ids: BigInt64Array | readonly (number | bigint)[]): Uint8Array {
    const handle = this.#live();
    const checkedIds = idsOf(ids);
    this.#claim('read', 'getVectorByIds');
    const signatureBytes = native.minhashLshMhVecLength(handle) * native.minhashLshElementSize(handle);
    const out = allocate(`${checkedIds.length} signatures`, () => new Uint8Array(checkedIds.length * signatureBytes));
    const err = newErrorOut();
    throwIfFailed(native.minhashLshGetVectorByIds(
      handle, checkedIds, checkedIds.length, out, out.byteLength, err), err);
    return out;
  }

  // --- save and load -------------------------------------------------------

  /** Writes the index to `path` (through a temporary file in the same
   * directory, renamed over `path` when complete: a failed save leaves
   * neither a partial file nor the temporary one). EMPTY_INDEX for an index
   * never built, FILE when the file cannot be written. Allowed while
   * searches or an async build run, BUSY during an async add. */
  save(path: PathLike): void {
    const handle = this.#live();
    const bytes = pathOf(path);
    this.#claim('read', 'save');
    const err = newErrorOut();
    throwIfFailed(native.minhashLshSaveWithInterrupt(handle, bytes, null, err), err);
  }

  /** save() on the thread pool, cancellable, with progress (phase 'save'). */
  async saveAsync(path: PathLike, options: ProgressOptions = {}): Promise<void> {
    const handle = this.#live();
    const bytes = pathOf(path); // a new NUL-terminated copy: the binding's own
    await this.#runAsync('read', 'save', options, [bytes], (interrupt, err) =>
      native.async.minhashLshSaveWithInterrupt(handle, bytes, interrupt, err), { phase: 'save' });
  }

  /** The bytes save() writes, as a new Uint8Array (copied out of the
   * library's buffer, which is freed at once). */
  serialize(): Uint8Array {
    const handle = this.#live();
    this.#claim('read', 'serialize');
    const out = newBufferOut();
    const length = newLengthOut();
    const err = newErrorOut();
    try {
      throwIfFailed(native.minhashLshSerializeWithInterrupt(handle, out, length, null, err), err);
      return takeLibraryBuffer(out, length);
    } finally {
      releaseLibraryBuffer(out);
    }
  }

  /** serialize() on the thread pool, cancellable, with progress (phase
   * 'save'). */
  async serializeAsync(options: ProgressOptions = {}): Promise<Uint8Array> {
    const handle = this.#live();
    const out = newBufferOut();
    const length = newLengthOut();
    try {
      await this.#runAsync('read', 'serialize', options, [out, length], (interrupt, err) =>
        native.async.minhashLshSerializeWithInterrupt(handle, out, length, interrupt, err), { phase: 'save' });
      return takeLibraryBuffer(out, length);
    } finally {
      // #runAsync settles only after the native call returned: whatever it
      // left in `out` (a buffer after success) is ours to free.
      releaseLibraryBuffer(out);
    }
  }

  /** A new index with the contents of the file at `path` (as save() wrote
   * it). FILE when it cannot be read, CORRUPT (code 'ERR_CORRUPT') when it
   * is not a valid saved index. */
  static load(path: PathLike): MinHashLSHIndex {
    const bytes = pathOf(path);
    return MinHashLSHIndex.#fill((index, err) => native.minhashLshLoadWithInterrupt(index, bytes, null, err));
  }

  /** load() on the thread pool, cancellable, with progress (phase 'load'). */
  static async loadAsync(path: PathLike, options: ProgressOptions = {}): Promise<MinHashLSHIndex> {
    const bytes = pathOf(path); // a new NUL-terminated copy: the binding's own
    return MinHashLSHIndex.#fillAsync('load', options, [bytes], (index, interrupt, err) =>
      native.async.minhashLshLoadWithInterrupt(index, bytes, interrupt, err));
  }

  /** A new index from the bytes of serialize() or of a saved file (copied:
   * the caller keeps `bytes`). CORRUPT when they are not a valid index. */
  static deserialize(bytes: ArrayBufferView): MinHashLSHIndex {
    const data = bytesOf(bytes, 'bytes');
    return MinHashLSHIndex.#fill((index, err) =>
      native.minhashLshDeserializeWithInterrupt(index, data, data.byteLength, null, err));
  }

  /** deserialize() on the thread pool, cancellable, with progress (phase
   * 'load'). `bytes` are copied first: the caller may change them at once. */
  static async deserializeAsync(bytes: ArrayBufferView, options: ProgressOptions = {}): Promise<MinHashLSHIndex> {
    const data = ownedBytesOf(bytes, 'bytes');
    return MinHashLSHIndex.#fillAsync('deserialize', options, [data], (index, interrupt, err) =>
      native.async.minhashLshDeserializeWithInterrupt(index, data, data.byteLength, interrupt, err));
  }

  /** A new index filled by a sync call; closed again if the call fails. */
  static #fill(call: (index: IndexPtr, err: ErrorOut) => number): MinHashLSHIndex {
    const index = new MinHashLSHIndex();
    try {
      const err = newErrorOut();
      throwIfFailed(call(index.#live(), err), err);
      return index;
    } catch (error) {
      index.close();
      throw error;
    }
  }

  /** A new index filled by an async call (a write: it holds the index for
   * the call, like a build); closed again if the call fails. */
  static async #fillAsync(what: string, options: ProgressOptions, buffers: readonly unknown[],
                          start: (index: IndexPtr, interrupt: InterruptPtr | null, err: ErrorOut) => Promise<number>):
    Promise<MinHashLSHIndex> {
    const index = new MinHashLSHIndex();
    const handle = index.#live();
    try {
      await index.#runAsync('replace', what, options, buffers, (interrupt, err) => start(handle, interrupt, err),
        { phase: 'load' });
      return index;
    } catch (error) {
      index.close();
      throw error;
    }
  }

  // --- accessors (0 / false before the first build) ------------------------

  /** Signatures in the index (removed ones included: ids are row numbers). */
  get count(): number { return native.minhashLshCount(this.#live()); }
  /** How many of `count` are removed (remove()). */
  get removedCount(): number { return native.minhashLshRemovedCount(this.#live()); }
  /** Values per signature. */
  get mhVecLength(): number { return native.minhashLshMhVecLength(this.#live()); }
  /** Bytes per value. */
  get elementSize(): number { return native.minhashLshElementSize(this.#live()); }
  /** Bands in use (after clamping to mhVecLength). */
  get bands(): number { return native.minhashLshBands(this.#live()); }
  /** Values per band: floor(mhVecLength / bands). */
  get rowsPerBand(): number { return native.minhashLshRowsPerBand(this.#live()); }
  /** Whether the raw signatures' full values are kept (exact similarities,
   * getVectorByIds); false when the index keeps codes (see rawBits). */
  get hasRawData(): boolean { return native.minhashLshHasRawData(this.#live()); }
  /** 8 or 16 when the index keeps b-bit codes of its values (build's
   * rawBits, or a loaded file's); otherwise 0. */
  get rawBits(): number { return native.minhashLshRawBits(this.#live()); }
  /** Bytes of native memory the index holds. */
  get memoryUsage(): number { return native.minhashLshMemoryUsage(this.#live()); }

  /** Threads used by batch search and build (0 when set: all processors). */
  get numThreads(): number { return native.minhashLshNumThreads(this.#live()); }
  set numThreads(threads: number) {
    const handle = this.#live();
    throwIfStatus(native.minhashLshSetNumThreads(handle, countOf(threads, 'numThreads')));
  }

  // --- lifetime ------------------------------------------------------------

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** Frees the native index. Idempotent. Throws BUSY while an async call on
   * this index is in flight: await (or abort) it first. */
  close(): void {
    if (this.#handle === null) return;
    this.#claim('write', 'close');
    const handle = this.#handle;
    this.#handle = null;
    finalizer.unregister(this);
    native.minhashLshFree(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #live(): IndexPtr {
    if (this.#handle === null) {
      throw new KnowhereError(Status.INVALID_ARG, 'the MinHashLSHIndex is closed');
    }
    return this.#handle;
  }

  /** The binding's side of the C busy guard, made deterministic: C only sees
   * an async call once a pool thread has started it. See Access for the
   * rules. */
  #claim(access: Access, what: string): void {
    const writers = this.#asyncReplaces + this.#asyncWrites;
    const inFlight = access === 'read' ? this.#asyncWrites
      : access === 'replace' ? writers : writers + this.#asyncReads;
    if (inFlight === 0) return;
    const kinds = access === 'read' ? 'async add' : access === 'replace' ? 'async build/add' : 'async operation';
    throw new KnowhereError(Status.BUSY,
      `the MinHashLSHIndex is busy: cannot ${what} while ${inFlight} ${kinds}${inFlight === 1 ? ' is' : 's are'} ` +
      'in flight on it; await it first (or abort it with its signal/interrupt)');
  }

  /** One native call on the thread pool, under this index's busy guard
   * (see runAsync). */
  async #runAsync(access: Access, what: string, options: ProgressOptions, buffers: readonly unknown[],
                  start: (interrupt: InterruptPtr | null, err: ErrorOut) => Promise<number>,
                  progress?: ProgressSpec): Promise<void> {
    await runAsync(options, buffers, start, progress, {
      owner: this,
      claim: () => { this.#claim(access, what); },
      enter: () => {
        if (access === 'write') this.#asyncWrites++;
        else if (access === 'replace') this.#asyncReplaces++;
        else this.#asyncReads++;
      },
      leave: () => {
        if (access === 'write') this.#asyncWrites--;
        else if (access === 'replace') this.#asyncReplaces--;
        else this.#asyncReads--;
      },
    });
  }

}


function rawBitsOf(bits: unknown): RawBits {
  if (bits !== 0 && bits !== 8 && bits !== 16) {
    throw invalidArgument(`build option rawBits must be 0, 8 or 16 (got ${String(bits)})`);
  }
  return bits;
}

function buildArguments(data: SignatureData, mhVecLength: number, elementSize: number, bands: number,
                        withRawData: boolean) {
  return {
    bytes: bytesOf(data, 'data'),
    mhVecLength: countOf(mhVecLength, 'mhVecLength'),
    elementSize: countOf(elementSize, 'elementSize'),
    bands: countOf(bands, 'bands'),
    withRawData: booleanOf(withRawData, 'withRawData'),
  };
}
