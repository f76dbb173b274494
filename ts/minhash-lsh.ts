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
 */
import { KnowhereError, Status, invalidArgument, throwIfFailed, throwIfStatus } from './errors.ts';
import { Interrupt, cloneInterruptHandle, interruptHandle } from './interrupt.ts';
import { native, newErrorOut, type ErrorOut, type IndexPtr, type InterruptPtr } from './native.ts';

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

export interface AsyncOptions {
  /** Aborting it interrupts the call, which rejects with InterruptedError
   * (cause: signal.reason). Already aborted: rejects with signal.reason. */
  readonly signal?: AbortSignal | undefined;
  /** Interrupts the call when set. If `signal` is given too, its abort SETS
   * THIS INTERRUPT (it stays set afterwards: reset() it to reuse it). */
  readonly interrupt?: Interrupt | null | undefined;
}

export interface AsyncSearchOptions extends AsyncOptions {
  readonly filter?: Filter | null | undefined;
}

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

/** Output buffers for `slots` results; C writes every slot. */
function resultBuffers(slots: number): { ids: BigInt64Array; distances: Float32Array } {
  return allocate(`${slots} result slots`, () => ({ ids: new BigInt64Array(slots), distances: new Float32Array(slots) }));
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
                   withRawData: boolean, options: AsyncOptions = {}): Promise<void> {
    const handle = this.#live();
    const args = buildArguments(data, mhVecLength, elementSize, bands, withRawData);
    await this.#runAsync('write', 'build', options, [args.bytes], (interrupt, err) =>
      native.async.minhashLshBuildWithInterrupt(
        handle, args.bytes, args.bytes.byteLength, args.mhVecLength, args.elementSize, args.bands,
        args.withRawData, interrupt, err));
  }

  async addAsync(data: SignatureData, options: AsyncOptions = {}): Promise<void> {
    const handle = this.#live();
    const bytes = bytesOf(data, 'data');
    await this.#runAsync('write', 'add', options, [bytes], (interrupt, err) =>
      native.async.minhashLshAddWithInterrupt(handle, bytes, bytes.byteLength, interrupt, err));
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
                         options: AsyncSearchOptions = {}): Promise<BatchSearchResult> {
    const handle = this.#live();
    const bytes = bytesOf(queries, 'queries');
    const checkedNq = countOf(nq, 'nq');
    const checkedK = countOf(k, 'k');
    const bitset = filterOf(options.filter);
    const result = resultBuffers(checkedNq * checkedK);
    await this.#runAsync('read', 'batch search', options, [bytes, bitset.bytes, result.ids, result.distances],
      (interrupt, err) => native.async.minhashLshBatchSearchWithInterrupt(
        handle, bytes, bytes.byteLength, checkedNq, checkedK, bitset.bytes, bitset.bits, result.ids,
        result.distances, interrupt, err));
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

  async #runAsync(access: Access, what: string, options: AsyncOptions, buffers: readonly unknown[],
                  start: (interrupt: InterruptPtr | null, err: ErrorOut) => Promise<number>): Promise<void> {
    const signal = signalOf(options.signal);
    const userInterrupt = interruptOf(options.interrupt);
    signal?.throwIfAborted();
    this.#claim(access, what);

    // A handle owned by this call, so closing the user's Interrupt cannot
    // free it under C: a clone of theirs (same flag), or a private one that
    // only the signal sets.
    let interrupt: InterruptPtr | null = null;
    if (userInterrupt !== null) {
      interrupt = cloneInterruptHandle(userInterrupt);
    } else if (signal !== null) {
      interrupt = native.interruptCreate();
      if (interrupt === null) throw new KnowhereError(Status.NO_MEMORY, 'out of memory while creating an interrupt');
    }
    const callInterrupt = interrupt;
    const onAbort = (): void => { native.interruptInterrupt(callInterrupt); };
    if (signal !== null && callInterrupt !== null) signal.addEventListener('abort', onAbort, { once: true });

    const operation = { index: this, buffers };
    operationsInFlight.add(operation);
    if (access === 'write') this.#asyncWrites++;
    else this.#asyncReads++;
    const err = newErrorOut();
    try {
      const status = await start(callInterrupt, err);
      throwIfFailed(status, err, signal?.aborted === true ? { interruptCause: signal.reason } : undefined);
    } finally {
      // The native call has returned (or never started): nothing uses the
      // buffers or the handle any more.
      signal?.removeEventListener('abort', onAbort);
      if (access === 'write') this.#asyncWrites--;
      else this.#asyncReads--;
      operationsInFlight.delete(operation);
      native.interruptFree(callInterrupt);
    }
  }
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
