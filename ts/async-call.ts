/**
 * Binding-internal (ts/index.ts re-exports only the option and progress
 * types): what every long native call shares, whether it belongs to an
 * index (build, search, self-join, ...) or to nothing (signature batches,
 * clustering).
 *
 *  - the JS-side argument checks (only what the C library cannot see);
 *  - the copies of async calls' inputs into memory the binding owns;
 *  - runAsync: one call on the libuv thread pool with `signal`,
 *    `interrupt` and `onProgress`, queued (ts/async-queue.ts) and run with a
 *    flag of its own that the thread's exit sets (ts/exit-interrupt.ts);
 *    every buffer C uses is held in `operationsInFlight` until the native
 *    call has returned (koffi does not keep them alive, and a GC would free
 *    memory that C is still reading or writing);
 *  - ProgressPoller: onProgress polled on the main thread from the call's
 *    own flag (knowhere_interrupt_progress), never relayed from the
 *    library's worker threads.
 */
import { markAsUntransferable } from 'node:worker_threads';

import {
  KnowhereError, Status, abortedError, discardError, invalidArgument, throwIfFailed,
} from './errors.ts';
import { acquireSlot, countStart, releaseSlot } from './async-queue.ts';
import { threadExitFlag } from './exit-interrupt.ts';
import { Interrupt, cloneInterruptHandle, interruptHandle } from './interrupt.ts';
import { Phase, native, newErrorOut, type ErrorOut, type InterruptPtr } from './native.ts';

export interface AsyncOptions {
  /** Aborting it interrupts the call, which rejects with InterruptedError,
   * or TimeoutError for an `AbortSignal.timeout()`, with the signal's reason
   * as `cause`; the same when it was already aborted (then no native work
   * starts). */
  readonly signal?: AbortSignal | undefined;
  /** Interrupts the call when set (TimeoutError when its deadline passes).
   * If `signal` is given too, its abort SETS THIS INTERRUPT (it stays set
   * afterwards: reset() it to reuse it). The binding itself never sets it
   * otherwise: the call runs with a flag of its own linked to this one, so
   * that the thread's exit stops the call without touching an Interrupt
   * shared with other threads. */
  readonly interrupt?: Interrupt | null | undefined;
}

/** What a long operation is doing (KNOWHERE_PHASE_*). serialize reports
 * 'save' and deserialize 'load'; a signature batch reports 'sign', a
 * self-join 'join', exact shingle similarities 'verify', and clustering
 * 'cluster'. */
export type ProgressPhase = 'build' | 'add' | 'search' | 'save' | 'load' | 'sign' | 'join' | 'verify' | 'cluster';

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
   * Each call has its own progress counter (on its own flag), also when
   * several calls share one Interrupt.
   */
  readonly onProgress?: ProgressCallback | null | undefined;
}


// ---------------------------------------------------------------------------
// Argument checks (only what the C library cannot see)
// ---------------------------------------------------------------------------

export function bytesOf(value: unknown, name: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) {
    throw invalidArgument(`${name} must be a TypedArray or DataView, got ${describe(value)}`);
  }
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** bytesOf without the Uint8Array view: for the calls declared to take
 * `const void *`, to which koffi passes any TypedArray or DataView as it is. */
export function viewOf(value: unknown, name: string): ArrayBufferView {
  if (!ArrayBuffer.isView(value)) {
    throw invalidArgument(`${name} must be a TypedArray or DataView, got ${describe(value)}`);
  }
  return value;
}

export function countOf(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

export function booleanOf(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function interruptOf(value: unknown): Interrupt | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof Interrupt)) throw invalidArgument(`interrupt must be an Interrupt, got ${describe(value)}`);
  return value;
}

export function progressCallbackOf(value: unknown): ProgressCallback | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'function') throw invalidArgument(`onProgress must be a function, got ${describe(value)}`);
  return value as ProgressCallback;
}

export function signalOf(value: unknown): AbortSignal | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof AbortSignal)) throw invalidArgument(`signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Ids as C's `int64_t` array: a BigInt64Array as it is, or an array of
 * integers (numbers or bigints) copied into one. A bigint outside int64 is
 * refused here: BigInt64Array.from would wrap it silently (2^64 + 3 would
 * become row 3), and C could not tell. */
export function idsOf(value: unknown, name = 'ids'): BigInt64Array {
  if (value instanceof BigInt64Array) return value;
  if (!Array.isArray(value)) {
    throw invalidArgument(`${name} must be a BigInt64Array or an array of integers, got ${describe(value)}`);
  }
  return BigInt64Array.from(value, (id: unknown, i) => {
    if (typeof id === 'bigint') {
      if (id < INT64_MIN || id > INT64_MAX) {
        throw invalidArgument(`${name}[${i}] must be an integer in -2^63..2^63-1, got ${describe(id)}`);
      }
      return id;
    }
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw invalidArgument(`${name}[${i}] must be an integer, got ${describe(id)}`);
    }
    return BigInt(id);
  });
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'bigint') return `${value}n`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** An output buffer; a size JS cannot allocate is NO_MEMORY, as in C. */
export function allocate<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof RangeError) {
      throw new KnowhereError(Status.NO_MEMORY, `cannot allocate ${what}: ${error.message}`);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Small results: carved from shared buffers
// ---------------------------------------------------------------------------

/** Results up to this many bytes share pools of RESULT_POOL_BYTES (as Node's
 * Buffer.allocUnsafe shares 8 KiB pools). */
const RESULT_POOLED_MAX = 1024;
const RESULT_POOL_BYTES = 8192;
let resultPool = newResultPool();
let resultPoolUsed = 0;

function newResultPool(): ArrayBuffer {
  const buffer = new ArrayBuffer(RESULT_POOL_BYTES);
  // A transfer of one result's buffer would detach every result of the
  // pool: Node copies an untransferable buffer instead.
  markAsUntransferable(buffer);
  return buffer;
}

/**
 * Room for a result of `bytes` bytes (8-aligned): a slice of a shared pool
 * when small, else a new ArrayBuffer. A new ArrayBuffer costs about 0.25 us
 * more than a view of a pooled one, per result (docs/benchmarks.md, "the
 * binding's per-call cost"), and, unlike a small typed array made on its
 * own, either lives outside V8's heap where koffi can hand it to C as it is.
 * The pooled memory is zeroed (ArrayBuffers are) and never handed out twice.
 */
export function resultMemory(bytes: number): { buffer: ArrayBuffer; byteOffset: number } {
  if (bytes > RESULT_POOLED_MAX) return { buffer: new ArrayBuffer(bytes), byteOffset: 0 };
  // byteLength 0: someone detached the pool (ArrayBuffer.prototype.transfer).
  if (resultPoolUsed + bytes > RESULT_POOL_BYTES || resultPool.byteLength === 0) {
    resultPool = newResultPool();
    resultPoolUsed = 0;
  }
  const byteOffset = resultPoolUsed;
  resultPoolUsed += (bytes + 7) & ~7;
  return { buffer: resultPool, byteOffset };
}

// ---------------------------------------------------------------------------
// Inputs of async calls: copies in memory the binding owns
// ---------------------------------------------------------------------------

/*
 * An async call reads copies of its inputs, made synchronously (before the
 * method returns or queues the call). The caller's own memory cannot be
 * held: keeping the view alive does not stop the caller from detaching its
 * ArrayBuffer (transferring it) or shrinking a resizable one while C reads
 * it on a pool thread, which crashed or silently answered from reused
 * memory; nor from changing it between C's checks and its reads. A buffer
 * nobody else references cannot be detached or resized, and runAsync holds
 * it until the native call has returned. Sync calls end before the caller
 * runs again and read in place.
 *
 * Fresh memory costs a page fault per 4 KiB, which is most of a copy's
 * cost (a 512 KB copy: ~300 us fresh, ~11 us into reused memory), so
 * runAsync gives the buffers of medium copies back to a small pool once the
 * call has returned (docs/benchmarks.md). Nothing else ever sees them.
 */

/** Copies of at least / at most this many bytes are pooled; the pool keeps
 * at most POOL_BYTES of idle buffers (capacities are powers of two). */
const POOLED_MIN = 64 * 1024;
const POOLED_MAX = 8 * 1024 * 1024;
const POOL_BYTES = 16 * 1024 * 1024;
const idleBuffers = new Map<number, ArrayBuffer[]>();
let idleBytes = 0;
/** Buffers that belong to the pool (idle or lent to a call). */
const poolBuffers = new WeakSet<ArrayBuffer>();

/** A buffer of at least `length` bytes for a copy. */
function copyBuffer(length: number, what: string): ArrayBuffer {
  if (length < POOLED_MIN || length > POOLED_MAX) return allocate(what, () => new ArrayBuffer(length));
  const capacity = 2 ** Math.ceil(Math.log2(length));
  const idle = idleBuffers.get(capacity)?.pop();
  if (idle !== undefined) {
    idleBytes -= capacity;
    return idle;
  }
  const buffer = allocate(what, () => new ArrayBuffer(capacity));
  poolBuffers.add(buffer);
  return buffer;
}

/** Gives the pool's buffers among `used` back, once nothing reads them. */
export function releaseCopies(used: readonly unknown[]): void {
  for (const value of used) {
    if (!ArrayBuffer.isView(value) || !poolBuffers.has(value.buffer as ArrayBuffer)) continue;
    const buffer = value.buffer as ArrayBuffer;
    const idle = idleBuffers.get(buffer.byteLength) ?? [];
    if (idle.includes(buffer) || idleBytes + buffer.byteLength > POOL_BYTES) continue;
    idle.push(buffer);
    idleBuffers.set(buffer.byteLength, idle);
    idleBytes += buffer.byteLength;
  }
}

/** A copy of bytes already checked (a filter's), for an async call. */
export function ownedCopy(bytes: Uint8Array, name: string): Uint8Array {
  const length = bytes.byteLength;
  const copy = new Uint8Array(copyBuffer(length, `a copy of ${name} (${length} bytes)`), 0, length);
  copy.set(bytes);
  return copy;
}

/** bytesOf for an async call: a copy in memory the binding owns. */
export function ownedBytesOf(value: unknown, name: string): Uint8Array {
  return ownedCopy(bytesOf(value, name), name);
}

/** idsOf for an async call: an array of integers is converted into a new
 * array anyway; a caller's BigInt64Array is copied. */
export function ownedIdsOf(value: unknown, name = 'ids'): BigInt64Array {
  const ids = idsOf(value, name);
  if (ids !== value) return ids;
  const buffer = copyBuffer(ids.byteLength, `a copy of ${name} (${ids.length} ids)`);
  const copy = new BigInt64Array(buffer, 0, ids.length);
  copy.set(ids);
  return copy;
}

// ---------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------

/** How often a call with onProgress reads its published progress. */
const PROGRESS_POLL_MS = 25;

const phaseNumber: Record<ProgressPhase, number> = {
  build: Phase.BUILD, add: Phase.ADD, search: Phase.SEARCH, save: Phase.SAVE, load: Phase.LOAD, sign: Phase.SIGN,
  join: Phase.JOIN, verify: Phase.VERIFY, cluster: Phase.CLUSTER,
};

/**
 * Delivers one async call's progress to its onProgress, on the main thread.
 *
 * The library publishes progress on the call's own flag (made for this
 * call: no earlier operation's counters are on it) from its worker
 * threads; a timer (unref'd: the pending call keeps the process alive) reads
 * it with knowhere_interrupt_progress, a cheap sync call. No JS callback is
 * ever handed to C, so no native thread waits for the event loop. Readings
 * of another phase (or, for a batch search, another total) are ignored;
 * `done` is reported only when it grew, because worker threads may publish
 * out of order.
 */
class ProgressPoller {
  readonly #handle: InterruptPtr;
  /** Interrupts the call (and what else the call's options say). */
  readonly #interrupt: () => void;
  readonly #phase: ProgressPhase;
  readonly #callback: ProgressCallback;
  /** The total the call is known to have (batch search: nq). */
  readonly #expectedTotal: number | undefined;
  #lastDone = -1;
  #lastTotal = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running = false;
  /** What onProgress threw (or rejected with), in a box: it may be anything. */
  #failure: { readonly error: unknown } | null = null;

  constructor(handle: InterruptPtr, interrupt: () => void, phase: ProgressPhase, callback: ProgressCallback,
              expectedTotal?: number) {
    this.#handle = handle;
    this.#interrupt = interrupt;
    this.#phase = phase;
    this.#callback = callback;
    this.#expectedTotal = expectedTotal;
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
    const reading = this.#read();
    if (reading !== null && reading.total > 0) return reading.total;
    if (this.#lastTotal > 0) return this.#lastTotal;
    return this.#expectedTotal ?? 1; // nothing published: "1 of 1", complete
  }

  /** The success report, done === total; throws what onProgress throws. */
  finish(total: number): void {
    if (this.#failure !== null) throw this.#failure.error;
    this.#observe(this.#callback({ done: total, total, phase: this.#phase }));
  }

  #read(): { done: number; total: number } | null {
    const reading = native.interruptProgress(this.#handle);
    if (reading === null || reading.phase !== phaseNumber[this.#phase]) return null;
    if (this.#expectedTotal !== undefined && reading.total !== this.#expectedTotal) return null;
    return { done: Math.min(reading.done, reading.total), total: reading.total };
  }

  #poll(): void {
    if (!this.#running || this.#failure !== null) return;
    const reading = this.#read();
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
    this.#interrupt();
  }
}

/** The abort reason of a signal that aborted during the call, for the
 * cause of its InterruptedError / TimeoutError. (A function, so that the
 * check before the call does not narrow `aborted` to false here.) */
function abortContext(signal: AbortSignal | null): { interruptCause: unknown } | undefined {
  return signal !== null && signal.aborted ? { interruptCause: signal.reason } : undefined;
}

// ---------------------------------------------------------------------------
// One native call on the thread pool
// ---------------------------------------------------------------------------

/** Async calls in flight, each holding its owner (an index, or nothing) and
 * every buffer C uses. */
const operationsInFlight = new Set<{ readonly owner: object | null; readonly buffers: readonly unknown[] }>();

/** What an object owning the call (an index) adds: its busy guard. */
export interface AsyncGuard {
  /** Held with the buffers while the call is in flight. */
  readonly owner: object;
  /** Throws (e.g. BUSY) when the call may not start; runs after the option
   * checks and before anything is allocated. */
  claim(): void;
  /** The call is in flight / has ended (the native call returned or never
   * started). */
  enter(): void;
  leave(): void;
}

/** The phase whose progress onProgress receives, and the total when JS
 * knows it (a batch search: nq). */
export interface ProgressSpec {
  readonly phase: ProgressPhase;
  readonly total?: number;
}

/**
 * The flags of one call. `callInterrupt`, the one C polls, is the call's
 * own: linked to the caller's Interrupt (so setting that one, or its
 * deadline passing, stops the call) and to this thread's exit flag
 * (ts/exit-interrupt.ts), and set by the call's signal or a throwing
 * onProgress. The link holds the caller's flag, so the caller may close its
 * Interrupt object while the call runs. `userClone` (when the caller gave an
 * Interrupt and the call can be stopped from JS): a handle on the caller's
 * flag, which an abort sets too, as documented.
 */
function callFlags(userInterrupt: Interrupt | null, stoppable: boolean):
  { callInterrupt: InterruptPtr; userClone: InterruptPtr | null } {
  const parents = [threadExitFlag(), userInterrupt === null ? null : interruptHandle(userInterrupt)];
  const callInterrupt = native.interruptCreateLinked(parents);
  if (callInterrupt === null) throw new KnowhereError(Status.NO_MEMORY, 'out of memory while creating an interrupt');
  if (userInterrupt === null || !stoppable) return { callInterrupt, userClone: null };
  try {
    return { callInterrupt, userClone: cloneInterruptHandle(userInterrupt) };
  } catch (error) {
    native.interruptFree(callInterrupt);
    throw error;
  }
}

/** A call that waited in the queue while its Interrupt was set (or its
 * deadline passed) rejects without starting. */
function throwIfStoppedWhileQueued(interrupt: InterruptPtr, err: ErrorOut, signal: AbortSignal | null): void {
  const status = native.interruptCheck(interrupt, err, null);
  discardError(err);
  if (status === Status.OK) return;
  native.errorSet(err, status, status === Status.TIMEOUT
    ? 'operation timed out while queued, before it started'
    : 'operation interrupted while queued, before it started');
  throwIfFailed(status, err, abortContext(signal));
}

/**
 * Runs one native call on the thread pool. Validation errors, a busy owner
 * and an already aborted signal reject before any native work. `progress`
 * turns on onProgress (the phase, and the total when JS knows it).
 * `buffers` are held until the native call has returned.
 */
export async function runAsync(options: ProgressOptions, buffers: readonly unknown[],
                               start: (interrupt: InterruptPtr, err: ErrorOut) => Promise<number>,
                               progress?: ProgressSpec, guard?: AsyncGuard): Promise<void> {
  const signal = signalOf(options.signal);
  const userInterrupt = interruptOf(options.interrupt);
  const onProgress = progress === undefined ? null : progressCallbackOf(options.onProgress);
  if (signal !== null && signal.aborted) throw abortedError(signal.reason);
  guard?.claim();

  const { callInterrupt, userClone } = callFlags(userInterrupt, signal !== null || onProgress !== null);
  const stop = (): void => {
    native.interruptInterrupt(callInterrupt);
    if (userClone !== null) native.interruptInterrupt(userClone);
  };
  if (signal !== null) signal.addEventListener('abort', stop, { once: true });
  const poller = onProgress !== null && progress !== undefined
    ? new ProgressPoller(callInterrupt, stop, progress.phase, onProgress, progress.total)
    : null;

  const operation = { owner: guard?.owner ?? null, buffers };
  operationsInFlight.add(operation);
  guard?.enter();
  const err = newErrorOut();
  let finalTotal = 0;
  let holdsSlot = false;
  try {
    const queued = acquireSlot(signal);
    if (queued !== null) {
      await queued; // rejects if the signal aborts first: no slot, never started
      holdsSlot = true;
      throwIfStoppedWhileQueued(callInterrupt, err, signal);
    }
    holdsSlot = true;
    poller?.start();
    countStart();
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
    if (holdsSlot) releaseSlot();
    poller?.stop();
    signal?.removeEventListener('abort', stop);
    guard?.leave();
    operationsInFlight.delete(operation);
    releaseCopies(buffers);
    native.interruptFree(callInterrupt);
    native.interruptFree(userClone);
  }
  // After the cleanup, so that onProgress may use the owner.
  poller?.finish(finalTotal);
}
