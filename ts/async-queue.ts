/**
 * Binding-internal: the FIFO queue in front of the libuv thread pool.
 *
 * koffi refuses more than 256 pending async calls per thread, with a plain
 * Error that the caller cannot tell from a bug. And the libuv pool
 * (UV_THREADPOOL_SIZE threads, 4 by default) is shared with fs, dns, crypto
 * and zlib: calls beyond it would only wait in libuv's own FIFO, ahead of
 * the process's file reads. So each thread's binding hands at most
 * `ASYNC_CALL_LIMIT` calls at a time to the pool (one thread fewer than the
 * pool has, so other work always finds a thread free of ours) and keeps the
 * rest here, started in call order as slots free up. A call whose signal
 * aborts while it waits leaves the queue at once and rejects without ever
 * running (runAsync).
 */
import { InterruptedError, TimeoutError, isTimeoutReason } from './errors.ts';

/** The libuv pool size, as libuv reads it (1..1024, default 4). */
function threadPoolSize(): number {
  const size = Number.parseInt(process.env['UV_THREADPOOL_SIZE'] ?? '', 10);
  return Number.isSafeInteger(size) && size > 0 ? Math.min(size, 1024) : 4;
}

/** Async calls of this thread running on the pool at most. */
export const ASYNC_CALL_LIMIT = Math.max(1, threadPoolSize() - 1);

interface Waiter {
  readonly resolve: () => void;
  /** Set when its signal aborted: the call left the queue. */
  cancelled: boolean;
}

/** Calls holding a slot, calls waiting, and calls started since load. */
let running = 0;
let started = 0;
/** FIFO with a moving head (taken entries become null). */
let waiting: (Waiter | null)[] = [];
let head = 0;
let queued = 0;

/** The error of a call whose signal aborted while it waited. */
function abortedWhileQueued(reason: unknown): InterruptedError {
  return isTimeoutReason(reason)
    ? new TimeoutError('operation timed out while queued, before it started (the AbortSignal timed out)',
      { cause: reason })
    : new InterruptedError('operation interrupted while queued, before it started (the AbortSignal aborted)',
      { cause: reason });
}

/**
 * A slot for one native call: null when one was free (take it at once),
 * else a promise that resolves when a slot is handed over, or rejects with
 * InterruptedError / TimeoutError if `signal` aborts first (the call then
 * leaves the queue and holds no slot). Every null or resolved acquire is
 * paired with one releaseSlot().
 */
export function acquireSlot(signal: AbortSignal | null): Promise<void> | null {
  if (running < ASYNC_CALL_LIMIT && queued === 0) {
    running++;
    return null;
  }
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      waiter.cancelled = true;
      queued--;
      reject(abortedWhileQueued(signal?.reason));
    };
    const waiter: Waiter = {
      resolve: () => { signal?.removeEventListener('abort', onAbort); resolve(); },
      cancelled: false,
    };
    waiting.push(waiter);
    queued++;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Frees a slot: the oldest waiting call takes it. */
export function releaseSlot(): void {
  while (head < waiting.length) {
    const next = waiting[head];
    waiting[head++] = null;
    if (next === null || next === undefined || next.cancelled) continue;
    queued--;
    compact();
    next.resolve(); // the slot passes on: `running` is unchanged
    return;
  }
  running--;
  compact();
}

/** Drops the consumed head of the FIFO once it is most of the array. */
function compact(): void {
  if (head === waiting.length) {
    waiting = [];
    head = 0;
  } else if (head > 1024 && head * 2 > waiting.length) {
    waiting = waiting.slice(head);
    head = 0;
  }
}

/** Counts a native call handed to koffi (for asyncCallStats). */
export function countStart(): void {
  started++;
}

/** The queue's state, for tests and diagnostics (not exported by the
 * package). */
export function asyncQueueStats(): { limit: number; inFlight: number; queued: number; started: number } {
  return { limit: ASYNC_CALL_LIMIT, inFlight: running, queued, started };
}
