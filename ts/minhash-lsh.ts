/**
 * MinHashLSHIndex: the spec's MinHash-LSH index over knowhere_minhash_lsh_*.
 *
 * The C library validates every parameter and its messages are surfaced as
 * they are; this module only checks what C cannot see (JS types, numbers
 * that are not non-negative integers, the length of a filter buffer) and
 * keeps native memory safe around async calls.
 *
 * Async calls run on the libuv thread pool. While one is in flight the
 * index, every buffer passed to C and the interrupt handle are held in
 * `operationsInFlight` (koffi does not keep them alive, and a GC would free
 * memory that C is still reading or writing).
 *
 * Progress (`onProgress`) is polled on the main thread from the call's own
 * interrupt handle (knowhere_interrupt_progress), never relayed from the
 * library's worker threads: see ProgressPoller.
 */
import { fileURLToPath } from 'node:url';

import {
  KnowhereError, Status, abortedError, discardError, invalidArgument, throwIfFailed, throwIfStatus,
} from './errors.ts';
import { Interrupt, cloneInterruptHandle, interruptHandle } from './interrupt.ts';
import {
  Phase, native, newBufferOut, newErrorOut, newLengthOut, type BufferOut, type ErrorOut, type IndexPtr,
  type InterruptPtr, type LengthOut,
} from './native.ts';

/** Signatures laid end to end. Any TypedArray or DataView is passed
 * zero-copy as bytes; its element type is independent of `elementSize`. */
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

export interface AsyncOptions {
  /** Aborting it interrupts the call, which rejects with InterruptedError,
   * or TimeoutError for an `AbortSignal.timeout()`, with the signal's reason
   * as `cause`; the same when it was already aborted (then no native work
   * starts). */
  readonly signal?: AbortSignal | undefined;
  /** Interrupts the call when set (TimeoutError when its deadline passes).
   * If `signal` is given too, its abort SETS THIS INTERRUPT (it stays set
   * afterwards: reset() it to reuse it). */
  readonly interrupt?: Interrupt | null | undefined;
}

/** What a long operation is doing (KNOWHERE_PHASE_*). serialize reports
 * 'save' and deserialize 'load'. */
export type ProgressPhase = 'build' | 'add' | 'search' | 'save' | 'load';

/** `done` of `total` units of work (rows, queries or bytes: whatever the
 * library counts for that phase). */
export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly phase: ProgressPhase;
}

export type ProgressCallback = (progress: Progress) => void;

export interface ProgressOptions extends AsyncOptions {
  /**
   * Called on the main thread while the call runs, each time `done` has
   * grown (polled about every 25 ms, so not every step is seen; done stays
   * below total), and once more with done === total when it succeeds.
   *
   * If it throws (or returns a promise that rejects), the operation is
   * interrupted and the call rejects with that error once the native work
   * has stopped. With `interrupt` given, that sets the caller's Interrupt,
   * as an abort of `signal` does. If it throws on the final call (made after
   * the operation succeeded, so the index or file has changed), the call
   * rejects with that error all the same.
   *
   * Progress belongs to the interrupt flag: calls running at the same time
   * with one Interrupt (or clones of it) share one counter and their
   * reports get mixed; give each its own Interrupt (or none) when you use
   * onProgress.
   */
  readonly onProgress?: ProgressCallback | null | undefined;
}

export interface AsyncSearchOptions extends AsyncOptions {
  readonly filter?: Filter | null | undefined;
}

/** batchSearchAsync's options: a filter and progress (phase 'search', total
 * = nq; a batch of one query reports only the final call). */
export interface AsyncBatchSearchOptions extends AsyncSearchOptions, ProgressOptions {}

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
    if (!Number.isSafeInteger(q) || q < 0 || q >= this.nq) {
      throw invalidArgument(`row ${String(q)} is out of range: the batch has ${this.nq} queries`);
    }
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

function bytesOf(value: unknown, name: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) {
    throw invalidArgument(`${name} must be a TypedArray or DataView, got ${describe(value)}`);
  }
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function countOf(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

function booleanOf(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

function interruptOf(value: unknown): Interrupt | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof Interrupt)) throw invalidArgument(`interrupt must be an Interrupt, got ${describe(value)}`);
  return value;
}

function progressCallbackOf(value: unknown): ProgressCallback | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'function') throw invalidArgument(`onProgress must be a function, got ${describe(value)}`);
  return value as ProgressCallback;
}

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

function signalOf(value: unknown): AbortSignal | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof AbortSignal)) throw invalidArgument(`signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

interface NativeFilter {
  readonly bytes: Uint8Array | null;
  readonly bits: number;
}

/** C reads ceil(bits / 8) bytes and cannot know the buffer's size: check it. */
function filterOf(value: unknown): NativeFilter {
  if (value === null || value === undefined) return { bytes: null, bits: 0 };
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

function idsOf(value: unknown): BigInt64Array {
  if (value instanceof BigInt64Array) return value;
  if (!Array.isArray(value)) throw invalidArgument(`ids must be a BigInt64Array or an array of integers, got ${describe(value)}`);
  return BigInt64Array.from(value, (id: unknown, i) => {
    if (typeof id === 'bigint') return id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw invalidArgument(`ids[${i}] must be an integer, got ${describe(id)}`);
    }
    return BigInt(id);
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'bigint') return `${value}n`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** An output buffer; a size JS cannot allocate is NO_MEMORY, as in C. */
function allocate<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof RangeError) {
      throw new KnowhereError(Status.NO_MEMORY, `cannot allocate ${what}: ${error.message}`);
    }
    throw error;
  }
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

/** Output buffers for `slots` results; C writes every slot. */
function resultBuffers(slots: number): { ids: BigInt64Array; distances: Float32Array } {
  return allocate(`${slots} result slots`, () => ({ ids: new BigInt64Array(slots), distances: new Float32Array(slots) }));
}

// ---------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------

/** How often a call with onProgress reads its published progress. */
const PROGRESS_POLL_MS = 25;

const phaseNumber: Record<ProgressPhase, number> = {
  build: Phase.BUILD, add: Phase.ADD, search: Phase.SEARCH, save: Phase.SAVE, load: Phase.LOAD,
};

/**
 * Delivers one async call's progress to its onProgress, on the main thread.
 *
 * The library publishes progress on the call's interrupt flag from its
 * worker threads; a timer (unref'd: the pending call keeps the process
 * alive) reads it with knowhere_interrupt_progress, a cheap sync call. No JS
 * callback is ever handed to C, so no native thread waits for the event
 * loop.
 *
 * The flag may carry the counters of an earlier operation (a reused
 * Interrupt): readings equal to what it held before the call are ignored
 * until they change, and readings of another phase (or, for a batch search,
 * another total) are ignored. `done` is reported only when it grew, because
 * worker threads may publish out of order.
 */
class ProgressPoller {
  readonly #handle: InterruptPtr;
  readonly #phase: ProgressPhase;
  readonly #callback: ProgressCallback;
  /** The total the call is known to have (batch search: nq). */
  readonly #expectedTotal: number | undefined;
  /** The counters before the call, while they may still be read back. */
  #stale: { done: number; total: number } | null;
  #lastDone = -1;
  #lastTotal = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running = false;
  /** What onProgress threw (or rejected with), in a box: it may be anything. */
  #failure: { readonly error: unknown } | null = null;

  constructor(handle: InterruptPtr, phase: ProgressPhase, callback: ProgressCallback, expectedTotal?: number) {
    this.#handle = handle;
    this.#phase = phase;
    this.#callback = callback;
    this.#expectedTotal = expectedTotal;
    const before = native.interruptProgress(handle);
    this.#stale = before !== null && before.phase === phaseNumber[phase] ? before : null;
  }

  get failure(): { readonly error: unknown } | null {
    return this.#failure;
  }

  start(): void {
    this.#running = true;
    this.#timer = setInterval(() => { this.#poll(); }, PROGRESS_POLL_MS);
    this.#timer.unref();
  }

  /** Stops polling; call it once the native call has returned. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The final report's total, read before the handle is freed. */
  finalTotal(): number {
    const reading = this.#read(false);
    if (reading !== null && reading.total > 0) return reading.total;
    if (this.#lastTotal > 0) return this.#lastTotal;
    return this.#expectedTotal ?? 1; // nothing published: "1 of 1", complete
  }

  /** The success report, done === total; throws what onProgress throws. */
  finish(total: number): void {
    if (this.#failure !== null) throw this.#failure.error;
    this.#observe(this.#callback({ done: total, total, phase: this.#phase }));
  }

  #read(skipStale: boolean): { done: number; total: number } | null {
    const reading = native.interruptProgress(this.#handle);
    if (reading === null || reading.phase !== phaseNumber[this.#phase]) return null;
    if (this.#expectedTotal !== undefined && reading.total !== this.#expectedTotal) return null;
    if (skipStale && this.#stale !== null) {
      if (reading.done === this.#stale.done && reading.total === this.#stale.total) return null;
      this.#stale = null;
    }
    return { done: Math.min(reading.done, reading.total), total: reading.total };
  }

  #poll(): void {
    if (!this.#running || this.#failure !== null) return;
    const reading = this.#read(true);
    // done === total is kept for the success report.
    if (reading === null || reading.total === 0 || reading.done <= this.#lastDone || reading.done >= reading.total) {
      return;
    }
    this.#lastDone = reading.done;
    this.#lastTotal = reading.total;
    try {
      this.#observe(this.#callback({ done: reading.done, total: reading.total, phase: this.#phase }));
    } catch (error) {
      this.#fail(error);
    }
  }

  /** An async onProgress: its rejection counts as a throw while the call
   * runs (later, nothing is left to stop and it is dropped, not left
   * unhandled). */
  #observe(result: unknown): void {
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      Promise.resolve(result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
        if (this.#running) this.#fail(error);
      });
    }
  }

  /** Records the error and interrupts the operation; the call rejects with
   * it once the native work has returned. */
  #fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = { error };
    this.stop();
    native.interruptInterrupt(this.#handle);
  }
}

// ---------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------

const finalizer = new FinalizationRegistry<IndexPtr>((handle) => native.minhashLshFree(handle));

/** Async calls in flight, each holding its index and every buffer C uses. */
const operationsInFlight = new Set<{ readonly index: MinHashLSHIndex; readonly buffers: readonly unknown[] }>();

type Access = 'write' | 'read';

export class MinHashLSHIndex implements Disposable {
  #handle: IndexPtr | null;
  /** Async build/add calls in flight (at most one). */
  #asyncWrites = 0;
  /** Async searches in flight (any number). */
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

  /** Replaces the contents with the signatures of `data`: `mhVecLength`
   * values of `elementSize` bytes each, hashed in `bands` bands. */
  build(data: SignatureData, mhVecLength: number, elementSize: number, bands: number, withRawData: boolean): void {
    this.buildWithInterrupt(data, mhVecLength, elementSize, bands, withRawData, null);
  }

  buildWithInterrupt(data: SignatureData, mhVecLength: number, elementSize: number, bands: number,
                     withRawData: boolean, interrupt: Interrupt | null): void {
    const handle = this.#live();
    const args = buildArguments(data, mhVecLength, elementSize, bands, withRawData);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('write', 'build');
    const err = newErrorOut();
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
    const bytes = bytesOf(data, 'data');
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('write', 'add');
    const err = newErrorOut();
    throwIfFailed(native.minhashLshAddWithInterrupt(
      handle, bytes, bytes.byteLength, checkedInterrupt && interruptHandle(checkedInterrupt), err), err);
  }

  async buildAsync(data: SignatureData, mhVecLength: number, elementSize: number, bands: number,
                   withRawData: boolean, options: ProgressOptions = {}): Promise<void> {
    const handle = this.#live();
    const args = buildArguments(data, mhVecLength, elementSize, bands, withRawData);
    await this.#runAsync('write', 'build', options, [args.bytes], (interrupt, err) =>
      native.async.minhashLshBuildWithInterrupt(
        handle, args.bytes, args.bytes.byteLength, args.mhVecLength, args.elementSize, args.bands,
        args.withRawData, interrupt, err), { phase: 'build' });
  }

  async addAsync(data: SignatureData, options: ProgressOptions = {}): Promise<void> {
    const handle = this.#live();
    const bytes = bytesOf(data, 'data');
    await this.#runAsync('write', 'add', options, [bytes], (interrupt, err) =>
      native.async.minhashLshAddWithInterrupt(handle, bytes, bytes.byteLength, interrupt, err), { phase: 'add' });
  }

  // --- search --------------------------------------------------------------

  /** The k most similar signatures to `query` (one signature). */
  search(query: SignatureData, k: number, filter?: Filter | null): SearchResult {
    return this.searchWithInterrupt(query, k, filter ?? null, null);
  }

  searchWithInterrupt(query: SignatureData, k: number, filter: Filter | null | undefined,
                      interrupt: Interrupt | null): SearchResult {
    const handle = this.#live();
    const bytes = bytesOf(query, 'query');
    const checkedK = countOf(k, 'k');
    const bitset = filterOf(filter);
    const checkedInterrupt = interruptOf(interrupt);
    this.#claim('read', 'search');
    const result = resultBuffers(checkedK);
    const err = newErrorOut();
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

  async searchAsync(query: SignatureData, k: number, options: AsyncSearchOptions = {}): Promise<SearchResult> {
    const handle = this.#live();
    const bytes = bytesOf(query, 'query');
    const checkedK = countOf(k, 'k');
    const bitset = filterOf(options.filter);
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
    const bytes = bytesOf(queries, 'queries');
    const checkedNq = countOf(nq, 'nq');
    const checkedK = countOf(k, 'k');
    const bitset = filterOf(options.filter);
    const result = resultBuffers(checkedNq * checkedK);
    await this.#runAsync('read', 'batch search', options, [bytes, bitset.bytes, result.ids, result.distances],
      (interrupt, err) => native.async.minhashLshBatchSearchWithInterrupt(
        handle, bytes, bytes.byteLength, checkedNq, checkedK, bitset.bytes, bitset.bits, result.ids,
        result.distances, interrupt, err), { phase: 'search', total: checkedNq });
    return new BatchSearchResult(checkedNq, checkedK, result.ids, result.distances);
  }

  /** The raw signatures of `ids`, in order, laid end to end (needs an index
   * built with raw data). */
  getVectorByIds(ids: BigInt64Array | readonly number[]): Uint8Array {
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
   * searches run, BUSY during an async build/add. */
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
    const bytes = pathOf(path);
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
    const bytes = pathOf(path);
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
   * 'load'). `bytes` must not be modified until the promise settles. */
  static async deserializeAsync(bytes: ArrayBufferView, options: ProgressOptions = {}): Promise<MinHashLSHIndex> {
    const data = bytesOf(bytes, 'bytes');
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
      await index.#runAsync('write', what, options, buffers, (interrupt, err) => start(handle, interrupt, err),
        { phase: 'load' });
      return index;
    } catch (error) {
      index.close();
      throw error;
    }
  }

  // --- accessors (0 / false before the first build) ------------------------

  /** Signatures in the index. */
  get count(): number { return native.minhashLshCount(this.#live()); }
  /** Values per signature. */
  get mhVecLength(): number { return native.minhashLshMhVecLength(this.#live()); }
  /** Bytes per value. */
  get elementSize(): number { return native.minhashLshElementSize(this.#live()); }
  /** Bands in use (after clamping to mhVecLength). */
  get bands(): number { return native.minhashLshBands(this.#live()); }
  /** Values per band: floor(mhVecLength / bands). */
  get rowsPerBand(): number { return native.minhashLshRowsPerBand(this.#live()); }
  /** Whether the raw signatures are kept (exact similarities, getVectorByIds). */
  get hasRawData(): boolean { return native.minhashLshHasRawData(this.#live()); }
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
   * an async call once a pool thread has started it. Writes (and close) need
   * no async call in flight; reads need no async write in flight. */
  #claim(access: Access, what: string): void {
    const inFlight = access === 'write' ? this.#asyncWrites + this.#asyncReads : this.#asyncWrites;
    if (inFlight === 0) return;
    const kinds = access === 'write' ? 'async operation' : 'async build/add';
    throw new KnowhereError(Status.BUSY,
      `the MinHashLSHIndex is busy: cannot ${what} while ${inFlight} ${kinds}${inFlight === 1 ? ' is' : 's are'} ` +
      'in flight on it; await it first (or abort it with its signal/interrupt)');
  }

  /**
   * Runs one native call on the thread pool. Validation errors, a busy index
   * and an already aborted signal reject before any native work. `progress`
   * turns on onProgress (the phase, and the total when JS knows it).
   */
  async #runAsync(access: Access, what: string, options: ProgressOptions, buffers: readonly unknown[],
                  start: (interrupt: InterruptPtr | null, err: ErrorOut) => Promise<number>,
                  progress?: { readonly phase: ProgressPhase; readonly total?: number }): Promise<void> {
    const signal = signalOf(options.signal);
    const userInterrupt = interruptOf(options.interrupt);
    const onProgress = progress === undefined ? null : progressCallbackOf(options.onProgress);
    if (signal !== null && signal.aborted) throw abortedError(signal.reason);
    this.#claim(access, what);

    // A handle owned by this call, so closing the user's Interrupt cannot
    // free it under C: a clone of theirs (same flag), or a private one that
    // only the signal (or a throwing onProgress) sets and that carries this
    // call's progress.
    let interrupt: InterruptPtr | null = null;
    if (userInterrupt !== null) {
      interrupt = cloneInterruptHandle(userInterrupt);
    } else if (signal !== null || onProgress !== null) {
      interrupt = native.interruptCreate();
      if (interrupt === null) throw new KnowhereError(Status.NO_MEMORY, 'out of memory while creating an interrupt');
    }
    const callInterrupt = interrupt;
    const onAbort = (): void => { native.interruptInterrupt(callInterrupt); };
    if (signal !== null && callInterrupt !== null) signal.addEventListener('abort', onAbort, { once: true });
    const poller = onProgress !== null && callInterrupt !== null && progress !== undefined
      ? new ProgressPoller(callInterrupt, progress.phase, onProgress, progress.total)
      : null;

    const operation = { index: this, buffers };
    operationsInFlight.add(operation);
    if (access === 'write') this.#asyncWrites++;
    else this.#asyncReads++;
    const err = newErrorOut();
    let finalTotal = 0;
    try {
      poller?.start();
      const status = await start(callInterrupt, err);
      poller?.stop();
      const progressFailure = poller?.failure;
      if (progressFailure) {
        // The operation was interrupted because of onProgress (or finished
        // regardless): its error is the one that matters.
        discardError(err);
        throw progressFailure.error;
      }
      throwIfFailed(status, err, abortContext(signal));
      if (poller !== null) finalTotal = poller.finalTotal();
    } finally {
      // The native call has returned (or never started): nothing uses the
      // buffers or the handle any more.
      poller?.stop();
      signal?.removeEventListener('abort', onAbort);
      if (access === 'write') this.#asyncWrites--;
      else this.#asyncReads--;
      operationsInFlight.delete(operation);
      native.interruptFree(callInterrupt);
    }
    // After the cleanup, so that onProgress may use the index.
    poller?.finish(finalTotal);
  }
}

/** The abort reason of a signal that aborted during the call, for the
 * cause of its InterruptedError / TimeoutError. (A function, so that the
 * check before the call does not narrow `aborted` to false here.) */
function abortContext(signal: AbortSignal | null): { interruptCause: unknown } | undefined {
  return signal !== null && signal.aborted ? { interruptCause: signal.reason } : undefined;
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
