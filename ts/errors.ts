/**
 * Status codes of knowhere_rs.h and the exceptions the binding throws.
 *
 * Hierarchy: KnowhereError (any non-OK status)
 *              └─ InterruptedError (INTERRUPTED: an Interrupt was set or an
 *                 │                 AbortSignal aborted)
 *                 └─ TimeoutError (TIMEOUT: a deadline passed, or an
 *                                   AbortSignal.timeout() fired)
 */
import { native, takeError, type ErrorOut, type ErrorPtr } from './native.ts';

/** The KNOWHERE_OK / KNOWHERE_ERR_* numbers of knowhere_rs.h. */
export const Status = {
  OK: 0,
  INVALID_ARG: 1,
  EMPTY_INDEX: 6,
  NOT_IMPLEMENTED: 7,
  NO_MEMORY: 13,
  FILE: 15,
  OVERFLOW: 17,
  TIMEOUT: 26,
  INTERNAL: 27,
  INTERRUPTED: 100,
  BUSY: 101,
  CORRUPT: 102,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

const statusNames = new Map<number, StatusName>(
  Object.entries(Status).map(([name, value]) => [value, name as StatusName]));

/** 'ERR_INVALID_ARG' for 1, 'OK' for 0, 'ERR_UNKNOWN' for numbers the header
 * does not define. */
export function statusCode(status: number): string {
  const name = statusNames.get(status);
  if (name === undefined) return 'ERR_UNKNOWN';
  return name === 'OK' ? 'OK' : `ERR_${name}`;
}

/** Whether a status means "the operation was cancelled". */
export function isInterruptStatus(status: number): boolean {
  return status === Status.INTERRUPTED || status === Status.TIMEOUT;
}

/** Any failure reported by the native library (or caught by the binding
 * before calling it, with the status the library would have used). */
export class KnowhereError extends Error {
  /** The KNOWHERE_ERR_* number. */
  readonly status: number;
  /** A stable string for `status`, e.g. 'ERR_INVALID_ARG'. */
  readonly code: string;

  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KnowhereError';
    this.status = status;
    this.code = statusCode(status);
  }

  /** True when the operation was cancelled (INTERRUPTED or TIMEOUT), the
   * spec's `e.is_interrupted()`. */
  isInterrupted(): boolean {
    return isInterruptStatus(this.status);
  }

  /** True only when the cancellation was a timeout (status TIMEOUT): a
   * deadline of the Interrupt passed, or an AbortSignal.timeout() fired. */
  isTimeout(): boolean {
    return this.status === Status.TIMEOUT;
  }
}

/** An operation stopped because its Interrupt was set or its AbortSignal
 * aborted; in the latter case `cause` is the signal's reason. */
export class InterruptedError extends KnowhereError {
  constructor(message = 'operation interrupted', options?: ErrorOptions & { status?: number }) {
    // Only `cause` goes to Error; `status` lets TIMEOUT (and a later
    // TimeoutError subclass) share this class.
    super(options?.status ?? Status.INTERRUPTED, message,
      options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'InterruptedError';
  }
}

/** An operation stopped by a timeout: the deadline of its Interrupt passed
 * (`Interrupt.withTimeout`, `setDeadline`), or the AbortSignal given to it
 * was an `AbortSignal.timeout()` (then `cause` is the signal's reason, a
 * DOMException named 'TimeoutError'). Status TIMEOUT; `isInterrupted()` is
 * true as for any cancellation. */
export class TimeoutError extends InterruptedError {
  constructor(message = 'operation timed out', options?: ErrorOptions) {
    super(message, { ...(options !== undefined && 'cause' in options ? { cause: options.cause } : {}),
      status: Status.TIMEOUT });
    this.name = 'TimeoutError';
  }
}

/** The right exception class for a status. */
export function errorForStatus(status: number, message: string, options?: ErrorOptions): KnowhereError {
  if (status === Status.TIMEOUT) return new TimeoutError(message, options);
  if (status === Status.INTERRUPTED) return new InterruptedError(message, options);
  return new KnowhereError(status, message, options);
}

/** Whether an abort reason means "timed out": the DOMException that
 * AbortSignal.timeout() aborts with (or any error named 'TimeoutError',
 * ours included). */
export function isTimeoutReason(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError';
}

/** The error for an AbortSignal that was already aborted when the call was
 * made: InterruptedError, or TimeoutError for a timeout, with the signal's
 * reason as `cause`, so callers see one error shape however late the abort. */
export function abortedError(reason: unknown): InterruptedError {
  return isTimeoutReason(reason)
    ? new TimeoutError('operation timed out before it started (the AbortSignal had timed out)', { cause: reason })
    : new InterruptedError('operation interrupted before it started (the AbortSignal was already aborted)',
      { cause: reason });
}

export interface FailureContext {
  /** When present, set as `cause` if the failure is an interruption: the
   * reason of the AbortSignal that caused it. Ignored for other failures. */
  interruptCause?: unknown;
}

/**
 * Turns the result of a fallible C call into nothing (OK) or an exception,
 * reading and freeing the C error object in every case so none leaks. The
 * message is the library's; without an error object, the status's static
 * text.
 */
export function throwIfFailed(status: number, err: ErrorOut, context?: FailureContext): void {
  const error: ErrorPtr | null = takeError(err);
  let message = '';
  if (error !== null) {
    message = native.errorMessage(error);
    native.errorFree(error);
  }
  if (status === Status.OK) return;
  if (message === '') message = native.statusString(status);
  if (context !== undefined && 'interruptCause' in context && isInterruptStatus(status)) {
    const cause = context.interruptCause;
    // The signal's abort reached C as a plain interrupt: a timeout signal
    // still makes a TimeoutError (status TIMEOUT), as a deadline would.
    if (status === Status.INTERRUPTED && isTimeoutReason(cause)) {
      throw new TimeoutError(`${message} (the AbortSignal timed out)`, { cause });
    }
    throw errorForStatus(status, message, { cause });
  }
  throw errorForStatus(status, message);
}

/** Reads and frees the C error object, if any, without throwing: for a call
 * whose failure is superseded by another error. */
export function discardError(err: ErrorOut): void {
  const error: ErrorPtr | null = takeError(err);
  if (error !== null) native.errorFree(error);
}

/** For statuses returned without an error object (interrupt setters,
 * set_num_threads). */
export function throwIfStatus(status: number, message?: string): void {
  if (status === Status.OK) return;
  throw errorForStatus(status, message ?? native.statusString(status));
}

/** The binding's own argument errors: the status C would have used. */
export function invalidArgument(message: string): KnowhereError {
  return new KnowhereError(Status.INVALID_ARG, message);
}

/** Throws unless `row` indexes one of `rows` rows of a result (`what`
 * names them in the message, e.g. "the batch has 3 queries"). */
export function checkRow(row: number, rows: number, what: string): void {
  if (!Number.isSafeInteger(row) || row < 0 || row >= rows) {
    throw invalidArgument(`row ${String(row)} is out of range: ${what}`);
  }
}
