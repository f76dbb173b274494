/**
 * Binding-internal (ts/index.ts re-exports only the option and progress
 * types): what every long native call shares, whether it belongs to an
 * index (build, search, self-join, ...) or to nothing (signature batches,
 * clustering).
 *
 *  - the JS-side argument checks (only what the C library cannot see);
 *  - runAsync: one call on the libuv thread pool with `signal`,
 *    `interrupt` and `onProgress`; every buffer C uses is held in
 *    `operationsInFlight` until the native call has returned (koffi does not
 *    keep them alive, and a GC would free memory that C is still reading or
 *    writing);
 *  - ProgressPoller: onProgress polled on the main thread from the call's
 *    own interrupt handle (knowhere_interrupt_progress), never relayed from
 *    the library's worker threads.
 */
import {
  KnowhereError, Status, abortedError, discardError, invalidArgument, throwIfFailed,
} from './errors.ts';
import { Interrupt, cloneInterruptHandle } from './interrupt.ts';
import { Phase, native, newErrorOut, type ErrorOut, type InterruptPtr } from './native.ts';

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
   * Progress belongs to the interrupt flag: calls running at the same time
   * with one Interrupt (or clones of it) share one counter and their
   * reports get mixed; give each its own Interrupt (or none) when you use
   * onProgress.
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

/** Ids as C's `int64_t` array: a BigInt64Array as it is, or an array of
 * integers (numbers or bigints) copied into one. */
export function idsOf(value: unknown, name = 'ids'): BigInt64Array {
  if (value instanceof BigInt64Array) return value;
  if (!Array.isArray(value)) {
    throw invalidArgument(`${name} must be a BigInt64Array or an array of integers, got ${describe(value)}`);
  }
  return BigInt64Array.from(value, (id: unknown, i) => {
    if (typeof id === 'bigint') return id;
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
 * Runs one native call on the thread pool. Validation errors, a busy owner
 * and an already aborted signal reject before any native work. `progress`
 * turns on onProgress (the phase, and the total when JS knows it).
 * `buffers` are held until the native call has returned.
 */
export async function runAsync(options: ProgressOptions, buffers: readonly unknown[],
                               start: (interrupt: InterruptPtr | null, err: ErrorOut) => Promise<number>,
                               progress?: ProgressSpec, guard?: AsyncGuard): Promise<void> {
  const signal = signalOf(options.signal);
  const userInterrupt = interruptOf(options.interrupt);
  const onProgress = progress === undefined ? null : progressCallbackOf(options.onProgress);
  if (signal !== null && signal.aborted) throw abortedError(signal.reason);
  guard?.claim();

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

  const operation = { owner: guard?.owner ?? null, buffers };
  operationsInFlight.add(operation);
  guard?.enter();
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
    guard?.leave();
    operationsInFlight.delete(operation);
    native.interruptFree(callInterrupt);
  }
  // After the cleanup, so that onProgress may use the owner.
  poller?.finish(finalTotal);
}
