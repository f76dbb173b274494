/** The exit statuses of the knowhere-rs command (docs/cli.md). */
export const ExitCode = {
  OK: 0,
  /** A failure: an output could not be written, native error, ... */
  FAILURE: 1,
  /** Bad options or arguments (an output that is an input included). */
  USAGE: 2,
  /** Bad input with --strict (sysexits' EX_DATAERR). */
  BAD_INPUT: 65,
  /** A named input cannot be read, or no document was read (EX_NOINPUT). */
  NO_INPUT: 66,
  /** An output cannot be created there (EX_CANTCREAT). */
  CANNOT_CREATE: 73,
  /** --timeout passed (as timeout(1) reports it). */
  TIMEOUT: 124,
  /** Interrupted by SIGINT (Ctrl-C): 128 + 2. */
  INTERRUPTED: 130,
  /** Standard output was closed early (piped into head): 128 + SIGPIPE. */
  BROKEN_PIPE: 141,
  /** Terminated by SIGTERM: 128 + 15. */
  TERMINATED: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A run that cannot go on, with the status to exit with. main() prints
 * `knowhere-rs: MESSAGE` (`knowhere-rs dedup: MESSAGE` for USAGE).
 */
export class CommandError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(message: string, exitCode: ExitCodeValue) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}
