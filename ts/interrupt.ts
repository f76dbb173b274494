/**
 * Interrupt: the spec's thread-safe cancellation flag, over the C CInterrupt.
 *
 * Each Interrupt object owns exactly one native handle; `clone()` makes a new
 * object with its own handle on the same flag (knowhere_interrupt_clone), so
 * closing one never invalidates another. close() frees the handle; a
 * FinalizationRegistry frees it too if an object is dropped unclosed, but
 * only as a safety net: close it (or `using` it) yourself.
 */
import { KnowhereError, Status, throwIfFailed, throwIfStatus } from './errors.ts';
import { UINT64_MAX, native, newErrorOut, type InterruptPtr } from './native.ts';

/**
 * Hands an Interrupt to another thread (worker_threads), the spec's
 * Send + Sync. Produced by `share()`, structured-cloneable (postMessage,
 * workerData), adopted exactly once by `Interrupt.fromShared()` in any
 * thread of this process.
 *
 * A token holds a native handle of its own. A token that is never adopted
 * leaks that handle (a few bytes) unless released with
 * `Interrupt.releaseShared()`. Only pass handles made by `share()`: any other
 * bigint would be used as a pointer.
 */
export interface SharedInterruptToken {
  readonly handle: bigint;
  /** One Int32 over a SharedArrayBuffer: 0 until adopted or released. */
  readonly claimed: Int32Array;
}

/** What the registry needs to free an Interrupt nobody closed. It must not
 * reference the Interrupt itself, or the object could never be collected. */
interface NativeState {
  readonly handle: InterruptPtr;
  /** Removes the AbortSignal listener of `fromSignal`, if any. */
  detach: (() => void) | null;
}

const finalizer = new FinalizationRegistry<NativeState>((state) => {
  state.detach?.();
  native.interruptFree(state.handle);
});

/** Set just around `new Interrupt()` by the factories that already own a
 * handle, so that the public constructor keeps the spec's `new()` signature. */
let handleToAdopt: InterruptPtr | null = null;

function adopt(handle: InterruptPtr): Interrupt {
  handleToAdopt = handle;
  try {
    return new Interrupt();
  } finally {
    handleToAdopt = null;
  }
}

function noMemory(what: string): KnowhereError {
  return new KnowhereError(Status.NO_MEMORY, `out of memory while creating ${what}`);
}

/** A deadline in whole milliseconds for C: fractions round up (a deadline
 * is never earlier than asked); 0 and Infinity mean "no deadline". */
function deadlineMsOf(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new KnowhereError(Status.INVALID_ARG,
      `${name} must be a non-negative number of milliseconds, got ${typeof value === 'number' ? value : typeof value}`);
  }
  if (value === Infinity) return 0;
  return Math.min(Math.ceil(value), Number.MAX_SAFE_INTEGER);
}

function claim(token: SharedInterruptToken): boolean {
  if (typeof token !== 'object' || token === null || typeof token.handle !== 'bigint' || token.handle === 0n ||
      !(token.claimed instanceof Int32Array) || !(token.claimed.buffer instanceof SharedArrayBuffer) ||
      token.claimed.length < 1) {
    throw new KnowhereError(Status.INVALID_ARG, 'not a share token made by Interrupt.share()');
  }
  // Exactly one thread wins, wherever the clones of the token went.
  return Atomics.compareExchange(token.claimed, 0, 0, 1) === 0;
}

let liveHandleOf: (interrupt: Interrupt) => InterruptPtr;

export class Interrupt implements Disposable {
  #handle: InterruptPtr | null;
  /** Shared with the finalizer (which must not see `this`). */
  #native: NativeState;

  static {
    liveHandleOf = (interrupt) => interrupt.#live();
  }

  /** A new flag, not interrupted. */
  constructor() {
    const handle = handleToAdopt ?? native.interruptCreate();
    handleToAdopt = null;
    if (handle === null) throw noMemory('an Interrupt');
    this.#handle = handle;
    this.#native = { handle, detach: null };
    finalizer.register(this, this.#native, this);
  }

  /** A new flag in the given state (the spec's `with_state`). */
  static withState(interrupted: boolean): Interrupt {
    if (typeof interrupted !== 'boolean') {
      throw new KnowhereError(Status.INVALID_ARG, 'Interrupt.withState expects a boolean');
    }
    const handle = native.interruptCreateWithState(interrupted);
    if (handle === null) throw noMemory('an Interrupt');
    return adopt(handle);
  }

  /**
   * A new flag that becomes set `ms` milliseconds from now (monotonic
   * clock): operations using it then fail with TimeoutError (status
   * TIMEOUT) instead of InterruptedError, and checkInterrupt throws
   * TimeoutError. An interrupt() made before the deadline still reads as
   * INTERRUPTED. 0 (as in C) or Infinity: no deadline. Fractions of a
   * millisecond round up.
   */
  static withTimeout(ms: number): Interrupt {
    const timeoutMs = deadlineMsOf(ms, 'Interrupt.withTimeout: ms');
    const handle = native.interruptCreateWithTimeout(timeoutMs);
    if (handle === null) throw noMemory('an Interrupt');
    return adopt(handle);
  }

  /**
   * A new flag that is set when `signal` aborts (at once if it already has).
   * The listener holds this object only weakly and is removed by close() (or
   * when this object is collected), so a long-lived signal keeps nothing
   * alive. Clones share the flag, so they see the abort while this object is
   * open.
   */
  static fromSignal(signal: AbortSignal): Interrupt {
    if (!(signal instanceof AbortSignal)) {
      throw new KnowhereError(Status.INVALID_ARG, 'Interrupt.fromSignal expects an AbortSignal');
    }
    const interrupt = new Interrupt();
    if (signal.aborted) {
      interrupt.interrupt();
      return interrupt;
    }
    const target = new WeakRef(interrupt);
    const onAbort = (): void => {
      const live = target.deref();
      if (live !== undefined && !live.closed) live.interrupt();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    interrupt.#native.detach = () => signal.removeEventListener('abort', onAbort);
    return interrupt;
  }

  /** Adopts the handle of a token made by `share()`, in any thread. Throws
   * KnowhereError (INVALID_ARG) if the token was already adopted or released. */
  static fromShared(token: SharedInterruptToken): Interrupt {
    if (!claim(token)) {
      throw new KnowhereError(Status.INVALID_ARG, 'this Interrupt share token was already adopted or released');
    }
    return adopt(token.handle as InterruptPtr);
  }

  /** Frees the handle of a token that will never be adopted. Returns false
   * if it was already adopted or released (then nothing is freed). */
  static releaseShared(token: SharedInterruptToken): boolean {
    if (!claim(token)) return false;
    native.interruptFree(token.handle as InterruptPtr);
    return true;
  }

  /** Whether the flag is set. */
  isInterrupted(): boolean {
    return native.interruptIsInterrupted(this.#live());
  }

  /** Sets the flag: every operation checking it stops soon after. */
  interrupt(): void {
    throwIfStatus(native.interruptInterrupt(this.#live()));
  }

  /** Clears the flag. A deadline that has passed sets it again at the next
   * check: clear or move it with setDeadline() to reuse a timed-out flag. */
  reset(): void {
    throwIfStatus(native.interruptReset(this.#live()));
  }

  /** Sets the flag and returns its previous value, atomically. */
  testAndSet(): boolean {
    return native.interruptTestAndSet(this.#live());
  }

  /** Sets the flag's deadline to `ms` milliseconds from now, replacing any
   * earlier one; 0 (or Infinity) clears it. The deadline belongs to the
   * flag: every clone (and every operation running with one) sees it. */
  setDeadline(ms: number): void {
    const handle = this.#live();
    throwIfStatus(native.interruptSetDeadline(handle, deadlineMsOf(ms, 'setDeadline: ms')));
  }

  /** Milliseconds left until the deadline (rounded up; 0 once it has
   * passed), or Infinity when the flag has none. */
  get remainingMs(): number {
    const remaining = native.interruptRemainingMs(this.#live());
    return remaining === UINT64_MAX ? Infinity : Number(remaining);
  }

  /** A new Interrupt on the same flag, to be closed on its own. It stays
   * valid after this one is closed. */
  clone(): Interrupt {
    const handle = native.interruptClone(this.#live());
    if (handle === null) throw noMemory('an Interrupt clone');
    return adopt(handle);
  }

  /** A token that another thread turns into an Interrupt on this flag with
   * `Interrupt.fromShared()`. See SharedInterruptToken about leaks. */
  share(): SharedInterruptToken {
    const handle = native.interruptClone(this.#live());
    if (handle === null) throw noMemory('an Interrupt share token');
    return { handle, claimed: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) };
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** Frees this handle (the flag lives on in its clones). Idempotent. */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    finalizer.unregister(this);
    this.#native.detach?.();
    this.#native.detach = null;
    native.interruptFree(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #live(): InterruptPtr {
    if (this.#handle === null) {
      throw new KnowhereError(Status.INVALID_ARG, 'the Interrupt is closed');
    }
    return this.#handle;
  }
}

/**
 * The spec's `check_interrupt!`: throws InterruptedError (status
 * INTERRUPTED) when the flag is set, with `message` or "operation
 * interrupted"; TimeoutError (status TIMEOUT, default message "operation
 * timed out") when a deadline set it. Goes through knowhere_interrupt_check
 * so C and TS agree.
 * A null interrupt is never interrupted.
 */
export function checkInterrupt(interrupt: Interrupt | null, message?: string): void {
  const err = newErrorOut();
  const handle = interrupt === null ? null : liveHandleOf(interrupt);
  throwIfFailed(native.interruptCheck(handle, err, message ?? null), err);
}

/** Binding-internal (not exported by the package): the live handle, for a
 * synchronous call that ends before the Interrupt can be closed. */
export function interruptHandle(interrupt: Interrupt): InterruptPtr {
  return liveHandleOf(interrupt);
}

/** Binding-internal: a new handle on the same flag, owned by the caller
 * (free it with native.interruptFree), for async calls that must not depend
 * on the Interrupt object staying open. */
export function cloneInterruptHandle(interrupt: Interrupt): InterruptPtr {
  const handle = native.interruptClone(liveHandleOf(interrupt));
  if (handle === null) throw noMemory('an Interrupt clone');
  return handle;
}
