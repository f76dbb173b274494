/** The exit statuses of the knowhere-rs command (docs/cli.md). */
export const ExitCode = {
  OK: 0,
  /** A failure: output not writable, native error, ... */
  FAILURE: 1,
  /** Bad options or arguments. */
  USAGE: 2,
  /** Bad input with --strict (sysexits' EX_DATAERR). */
  BAD_INPUT: 65,
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
