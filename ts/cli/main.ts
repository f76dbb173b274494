/**
 * The knowhere-rs command (bin/knowhere-rs.mjs runs it through tsx).
 *
 *   knowhere-rs dedup [options] <file|directory|->...
 *   knowhere-rs dedup --demo
 *   knowhere-rs filter [options] <file|directory|->...
 *   knowhere-rs signatures [options] <file|directory|->...
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
import { FILTER_HELP, parseFilterOptions, runFilter } from './filter.ts';
import { DEDUP_HELP, UsageError, parseDedupOptions } from './options.ts';
import { removeTemporaryFiles } from './output.ts';
import { PhaseReporter, formatSeconds } from './progress.ts';
import { SIGNATURES_HELP, parseSignaturesOptions, runSignatures } from './signatures.ts';
import { setLongTimeout } from './timer.ts';

const USAGE = `Usage: knowhere-rs <command> [options]

Commands:
  dedup       find near-duplicate documents (knowhere-rs dedup --help)
  filter      write the names of the documents to keep as they are read: the
              keep list of dedup, online (knowhere-rs filter --help)
  signatures  write each document's MinHash signature for Milvus's bulk
              import (knowhere-rs signatures --help; docs/milvus.md)

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

/** What every command's run gets: the run's signal (Ctrl-C, SIGTERM,
 * --timeout), its phase reporter, and the streams. */
export interface RunContext {
  readonly signal: AbortSignal;
  readonly reporter: PhaseReporter;
  readonly io: Io;
  /** Set once output went to standard output (then an interruption leaves
   * it incomplete). */
  stdoutStarted: boolean;
}

/**
 * Runs a command's work with Ctrl-C (SIGINT), SIGTERM and --timeout
 * aborting one signal, and turns how it ended into an exit status and a
 * message on stderr. `body` returns the status of a run that completed.
 */
async function withCancellation(command: string, io: Io,
                                options: { readonly timeoutSeconds: number | null; readonly quiet: boolean },
                                body: (ctx: RunContext) => Promise<number>): Promise<number> {
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
  const ctx: RunContext = { signal: controller.signal, reporter, io, stdoutStarted: false };
  try {
    return await body(ctx);
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
      io.stderr.write(`${error.exitCode === ExitCode.USAGE ? `knowhere-rs ${command}` : 'knowhere-rs'}: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof BadInputError) {
      io.stderr.write(
        `knowhere-rs: ${placeOf(error.bad)}: ${error.bad.reason} (--strict: stopping; no output written)\n`);
      return error.exitCode;
    }
    if (error instanceof KnowhereError && error.status === Status.INVALID_ARG) {
      // What the options asked of the library was out of its range.
      io.stderr.write(`knowhere-rs ${command}: ${error.message}\n`);
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

/** Parses a command's options: the options, or the exit status of --help
 * or of a usage error (printed). */
function parsed<O>(command: string, argv: readonly string[], io: Io, parse: (argv: readonly string[]) => O | 'help',
                   help: string): O | number {
  try {
    const options = parse(argv);
    if (options !== 'help') return options;
    io.stdout.write(help);
    return ExitCode.OK;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`knowhere-rs ${command}: ${error.message}\nTry 'knowhere-rs ${command} --help'.\n`);
    return error.exitCode;
  }
}

async function dedupCommand(argv: readonly string[], io: Io): Promise<number> {
  const options = parsed('dedup', argv, io, parseDedupOptions, DEDUP_HELP);
  if (typeof options === 'number') return options;
  return withCancellation('dedup', io, options, async (run) => {
    const ctx: DedupContext = {
      options, signal: run.signal, reporter: run.reporter, stdout: io.stdout, stderr: io.stderr, stdin: io.stdin,
      get stdoutStarted() { return run.stdoutStarted; },
      set stdoutStarted(value: boolean) { run.stdoutStarted = value; },
    };
    const summary = await runDedup(ctx);
    const text = summaryText(summary, options, run.reporter.times);
    // The demo's summary is its output, unless standard output carries one.
    const stdoutFree = options.output !== '-' && options.keepFirst !== '-';
    if (options.demo && stdoutFree) io.stdout.write(text);
    else if (!options.quiet) io.stderr.write(text.replace(/^(?=.)/gm, 'knowhere-rs: '));
    return ExitCode.OK;
  });
}

async function signaturesCommand(argv: readonly string[], io: Io): Promise<number> {
  const options = parsed('signatures', argv, io, parseSignaturesOptions, SIGNATURES_HELP);
  if (typeof options === 'number') return options;
  return withCancellation('signatures', io, options, async (run) => {
    await runSignatures(options, run);
    return ExitCode.OK;
  });
}

async function filterCommand(argv: readonly string[], io: Io): Promise<number> {
  const options = parsed('filter', argv, io, parseFilterOptions, FILTER_HELP);
  if (typeof options === 'number') return options;
  return withCancellation('filter', io, options, async (run) => {
    await runFilter(options, run);
    return ExitCode.OK;
  });
}

/** Runs the command line `argv` (without node and the script). */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dedup':
      return dedupCommand(rest, io);
    case 'filter':
      return filterCommand(rest, io);
    case 'signatures':
      return signaturesCommand(rest, io);
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
