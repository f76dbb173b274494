/**
 * Status codes of knowhere_rs.h and the exceptions the binding throws.
 *
 * Hierarchy: KnowhereError (any non-OK status)
 *              └─ InterruptedError (INTERRUPTED, and TIMEOUT until a
 *                 dedicated `TimeoutError extends InterruptedError` exists)
 */
import { native, type ErrorOut, type ErrorPtr } from './native.ts';

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

/** The right exception class for a status. */
export function errorForStatus(status: number, message: string, options?: ErrorOptions): KnowhereError {
  if (isInterruptStatus(status)) {
    return new InterruptedError(message, { ...options, status });
  }
  return new KnowhereError(status, message, options);
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
  const error: ErrorPtr | null = err[0];
  err[0] = null;
  let message = '';
  if (error !== null) {
    message = native.errorMessage(error);
    native.errorFree(error);
  }
  if (status === Status.OK) return;
  if (message === '') message = native.statusString(status);
  const options: ErrorOptions | undefined =
    context !== undefined && 'interruptCause' in context && isInterruptStatus(status)
      ? { cause: context.interruptCause }
      : undefined;
  throw errorForStatus(status, message, options);
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
