/**
 * The knowhere-rs command (bin/knowhere-rs.mjs runs it through tsx).
 *
 *   knowhere-rs dedup [options] <file|directory|->...
 *   knowhere-rs dedup --demo
 *
 * main() returns the exit status; it never calls process.exit itself, so
 * tests can run it in-process. Ctrl-C (SIGINT), SIGTERM and --timeout abort
 * one AbortController whose signal every step of the run watches: native
 * work stops within milliseconds, temporary files are removed, and the
 * status tells what happened (130, 143, 124). A second Ctrl-C exits at once
 * (temporary files are still removed).
 */
import { KnowhereError, Status } from '../errors.ts';
import { version } from '../index.ts';
import { BadInputError, runDedup, summaryText, type DedupContext } from './dedup.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { placeOf } from './input.ts';
import { DEDUP_HELP, UsageError, parseDedupOptions, type DedupOptions } from './options.ts';
import { removeTemporaryFiles } from './output.ts';
import { PhaseReporter, formatSeconds } from './progress.ts';
import { setLongTimeout } from './timer.ts';

const USAGE = `Usage: knowhere-rs <command> [options]

Commands:
  dedup     find near-duplicate documents (knowhere-rs dedup --help)

Options:
  -h, --help     this text
  --version      the versions of the command and of the native library
`;

export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadableStream;
}

/** Why the run was cancelled: the signal's abort reason. Named
 * 'TimeoutError' for --timeout, so the binding reports a TimeoutError. */
class Cancellation extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number, name: string) {
    super(message);
    this.name = name;
    this.exitCode = exitCode;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function dedupCommand(argv: readonly string[], io: Io): Promise<number> {
  let options: DedupOptions | 'help';
  try {
    options = parseDedupOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`knowhere-rs dedup: ${error.message}\nTry 'knowhere-rs dedup --help'.\n`);
    return error.exitCode;
  }
  if (options === 'help') {
    io.stdout.write(DEDUP_HELP);
    return ExitCode.OK;
  }

  const controller = new AbortController();
  const started = performance.now();
  const cancel = (reason: Cancellation): void => {
    if (controller.signal.aborted) {
      // A second Ctrl-C: no more waiting.
      removeTemporaryFiles();
      process.exit(reason.exitCode);
    }
    controller.abort(reason);
  };
  const onSigint = (): void => {
    cancel(new Cancellation('interrupted (SIGINT)', ExitCode.INTERRUPTED, 'AbortError'));
  };
  const onSigterm = (): void => {
    cancel(new Cancellation('terminated (SIGTERM)', ExitCode.TERMINATED, 'AbortError'));
  };
  // A reader that goes away (`| head`) ends the run as SIGPIPE would, quietly.
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EPIPE') throw error;
    removeTemporaryFiles();
    process.exit(ExitCode.BROKEN_PIPE);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  io.stdout.on('error', onStdoutError);
  const timeoutSeconds = options.timeoutSeconds;
  // Chained timers: a single one fires at once beyond 2^31 ms (24.8 days).
  const timer = timeoutSeconds === null ? null : setLongTimeout(timeoutSeconds * 1000, () => {
    cancel(new Cancellation(`timed out (--timeout ${timeoutSeconds})`, ExitCode.TIMEOUT, 'TimeoutError'));
  });

  const reporter = new PhaseReporter(io.stderr, { quiet: options.quiet });
  const ctx: DedupContext = {
    options, signal: controller.signal, reporter, stdout: io.stdout, stderr: io.stderr, stdin: io.stdin,
    stdoutStarted: false,
  };
  try {
    const summary = await runDedup(ctx);
    const text = summaryText(summary, options, reporter.times);
    // The demo's summary is its output, unless standard output carries one.
    const stdoutFree = options.output !== '-' && options.keepFirst !== '-';
    if (options.demo && stdoutFree) io.stdout.write(text);
    else if (!options.quiet) io.stderr.write(text.replace(/^(?=.)/gm, 'knowhere-rs: '));
    return ExitCode.OK;
  } catch (error) {
    const phase = reporter.current;
    reporter.clear();
    if (controller.signal.aborted) {
      const reason = controller.signal.reason as Cancellation;
      const written = ctx.stdoutStarted ? 'the output on stdout is incomplete' : 'no output written';
      io.stderr.write(`knowhere-rs: ${reason.message}${phase === null ? '' : ` while ${phase}`} after ` +
        `${formatSeconds(performance.now() - started)}; ${written}\n`);
      return reason.exitCode;
    }
    if (error instanceof CommandError) {
      io.stderr.write(`${error.exitCode === ExitCode.USAGE ? 'knowhere-rs dedup' : 'knowhere-rs'}: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof BadInputError) {
      io.stderr.write(
        `knowhere-rs: ${placeOf(error.bad)}: ${error.bad.reason} (--strict: stopping; no output written)\n`);
      return error.exitCode;
    }
    if (error instanceof KnowhereError && error.status === Status.INVALID_ARG) {
      // What the options asked of the library was out of its range.
      io.stderr.write(`knowhere-rs dedup: ${error.message}\n`);
      return ExitCode.USAGE;
    }
    io.stderr.write(`knowhere-rs: error${phase === null ? '' : ` while ${phase}`}: ${errorMessage(error)}\n`);
    return ExitCode.FAILURE;
  } finally {
    timer?.clear();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    io.stdout.off('error', onStdoutError);
    removeTemporaryFiles();
  }
}

/** Runs the command line `argv` (without node and the script). */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dedup':
      return dedupCommand(rest, io);
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(USAGE);
      return ExitCode.OK;
    case '--version':
      io.stdout.write(`knowhere-rs ${version()}\n`);
      return ExitCode.OK;
    case undefined:
      io.stderr.write(USAGE);
      return ExitCode.USAGE;
    default:
      io.stderr.write(`knowhere-rs: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return ExitCode.USAGE;
  }
}
