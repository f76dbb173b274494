/**
 * The outputs of `knowhere-rs dedup` (--output, --keep-first), made so that
 * they never destroy the user's files:
 *
 *  - Each is checked before any work (resolveOutput): its directory exists
 *    and is writable, it is not a directory, an existing file is writable.
 *    Problems are exit 73 (EX_CANTCREAT) and name the path the user gave.
 *  - None may be the same file as an input (a file found in a directory
 *    input included) or as another output (checkOutputs): files are
 *    compared by device and inode, outputs that do not exist yet by the
 *    real path of their directory and their name. That is exit 2.
 *  - A regular file is written to a temporary file in the same directory
 *    (`.NAME.PID.RANDOM.tmp`) and renamed over NAME only when everything is
 *    written; on failure or interruption the temporary file is removed (from
 *    the 'exit' handler too, for a second Ctrl-C). An existing NAME keeps
 *    its permission bits; through a symbolic link, the link's target is
 *    replaced and the link kept. A character device (/dev/null) is written
 *    to directly; other kinds of files (FIFOs, sockets) are refused.
 *  - `-` is standard output.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

import { CommandError, ExitCode } from './exit-codes.ts';
import { errnoText } from './files.ts';
import type { RunContext } from './main.ts';

/** Where one output goes. */
export interface OutputTarget {
  /** '--output' or '--keep-first', for messages. */
  readonly option: string;
  /** The path as given. */
  readonly given: string;
  readonly kind: 'stdout' | 'file' | 'device';
  /** What is written: the real path of a file (the rename's target), the
   * device as given. */
  readonly path: string;
  /** `dev:ino` of what is there now, if anything. */
  readonly identity: string | null;
  /** The permission bits of an existing file, kept by the new one. */
  readonly mode: number | null;
}

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

async function statOrNull(file: string): Promise<fs.BigIntStats | null> {
  try {
    return await fs.promises.stat(file, { bigint: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return null;
    throw error;
  }
}

async function accessible(file: string, mode: number): Promise<boolean> {
  try {
    await fs.promises.access(file, mode);
    return true;
  } catch {
    return false;
  }
}

function describeKind(stats: fs.BigIntStats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The directory a new output goes into: its real path, or why not. */
async function outputDirectory(given: string, fail: (why: string) => CommandError): Promise<string> {
  const dir = path.dirname(given);
  let stats: fs.BigIntStats | null;
  try {
    stats = await statOrNull(dir);
  } catch (error) {
    throw fail(`the directory ${dir}: ${errnoText(error)}`);
  }
  if (stats === null) {
    // ENOTDIR: some parent is a file.
    const parent = await statOrNull(path.dirname(dir)).catch(() => null);
    throw fail(parent !== null && !parent.isDirectory() ? `${path.dirname(dir)} is not a directory`
      : `the directory ${dir} does not exist`);
  }
  if (!stats.isDirectory()) throw fail(`${dir} is not a directory`);
  if (!await accessible(dir, fs.constants.W_OK | fs.constants.X_OK)) {
    throw fail(`the directory ${dir} is not writable`);
  }
  return fs.promises.realpath(dir);
}

/** Checks one output path before the work (CommandError, exit 73). */
export async function resolveOutput(option: string, given: string): Promise<OutputTarget> {
  const target = { option, given, identity: null, mode: null };
  if (given === '-') return { ...target, kind: 'stdout', path: '-' };
  const fail = (why: string): CommandError =>
    new CommandError(`cannot write ${option} ${given}: ${why}`, ExitCode.CANNOT_CREATE);
  let stats: fs.BigIntStats | null;
  try {
    stats = await statOrNull(given);
  } catch (error) {
    throw fail(errnoText(error));
  }
  if (stats === null) {
    if (given.endsWith('/')) throw fail('it names a directory');
    const link = await fs.promises.lstat(given).catch(() => null);
    if (link?.isSymbolicLink()) throw fail('it is a dangling symbolic link');
    const dir = await outputDirectory(given, fail);
    return { ...target, kind: 'file', path: path.join(dir, path.basename(given)) };
  }
  const identity = `${stats.dev}:${stats.ino}`;
  if (stats.isDirectory()) throw fail('it is a directory');
  if (stats.isCharacterDevice()) return { ...target, kind: 'device', path: given, identity };
  if (!stats.isFile()) throw fail(`it is ${describeKind(stats)} (use - and a redirection)`);
  if (!await accessible(given, fs.constants.W_OK)) throw fail('it is not writable');
  // Through a link: the target is replaced, the link kept.
  const real = await fs.promises.realpath(given);
  await outputDirectory(real, fail);
  return { ...target, kind: 'file', path: real, identity, mode: Number(stats.mode & 0o7777n) };
}

/** The inputs by `dev:ino`: their name in messages, and whether they were
 * named on the command line (else found in a directory). */
export type InputIdentities = ReadonlyMap<string, { readonly display: string; readonly named: boolean }>;

/**
 * Refuses (CommandError, exit 2) an output that is the same file as an
 * input or as another output; both on standard output too.
 */
export function checkOutputs(targets: readonly OutputTarget[], inputs: InputIdentities): void {
  const clash = (message: string): CommandError => new CommandError(message, ExitCode.USAGE);
  for (const target of targets) {
    const input = target.identity === null ? undefined : inputs.get(target.identity);
    if (input !== undefined && target.kind === 'file') {
      throw clash(`${target.option} ${target.given} is the same file as the input ${input.display}; ` +
        `refusing to overwrite an input${input.named ? '' : ' (leave it out with --exclude, or write elsewhere)'}`);
    }
  }
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = targets[i]!;
      const b = targets[j]!;
      const same = a.kind === 'stdout' ? b.kind === 'stdout'
        : a.kind === 'file' && b.kind === 'file' &&
          (a.path === b.path || (a.identity !== null && a.identity === b.identity));
      if (!same) continue;
      throw clash(a.kind === 'stdout' ? `${a.option} - and ${b.option} - are both standard output`
        : `${a.option} ${a.given} and ${b.option} ${b.given} are the same file`);
    }
  }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

const liveTemporaryFiles = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', removeTemporaryFiles);
}

/** Removes every temporary file still open (synchronously: usable from an
 * 'exit' handler or a signal handler). */
export function removeTemporaryFiles(): void {
  for (const file of liveTemporaryFiles) {
    try {
      fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
  }
  liveTemporaryFiles.clear();
}

/** A temporary file of the run's own (a spool): removed with the others
 * (removeTemporaryFiles, and at exit) unless released first. */
export function holdTemporaryFile(file: string): void {
  installExitHook();
  liveTemporaryFiles.add(file);
}

/** Removes a temporary file held with holdTemporaryFile now. */
export function removeTemporaryFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Already gone.
  }
  liveTemporaryFiles.delete(file);
}

/** Writes this many bytes at a time. */
const CHUNK = 1 << 20;

/**
 * One output file being written. Every failure is a CommandError naming
 * the path the user gave (not the temporary file).
 */
export class OutputFile {
  readonly target: OutputTarget;
  /** The temporary file, or null for a device (written directly). */
  readonly temporaryPath: string | null;
  #handle: fs.promises.FileHandle | null;
  #pending: Uint8Array[] = [];
  #pendingLength = 0;

  private constructor(target: OutputTarget, temporaryPath: string | null, handle: fs.promises.FileHandle) {
    this.target = target;
    this.temporaryPath = temporaryPath;
    this.#handle = handle;
  }

  static async create(target: OutputTarget): Promise<OutputFile> {
    if (target.kind === 'stdout') throw new Error('standard output is not an OutputFile');
    installExitHook();
    if (target.kind === 'device') {
      const handle = await fs.promises.open(target.path, 'w').catch((error: unknown) => {
        throw OutputFile.#failure(target, error);
      });
      return new OutputFile(target, null, handle);
    }
    const temporaryPath = path.join(path.dirname(target.path),
      `.${path.basename(target.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(temporaryPath, 'wx', 0o644);
    } catch (error) {
      throw OutputFile.#failure(target, error);
    }
    liveTemporaryFiles.add(temporaryPath);
    const file = new OutputFile(target, temporaryPath, handle);
    if (target.mode !== null) await file.#guard(() => handle.chmod(target.mode!));
    return file;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#pending.push(bytes);
    this.#pendingLength += bytes.byteLength;
    if (this.#pendingLength >= CHUNK) await this.#flush();
  }

  /** Flushes and closes: the temporary file is complete. */
  async finish(): Promise<void> {
    await this.#flush();
    const handle = this.#handle;
    if (handle === null) throw new Error(`${this.target.given}: already finished or discarded`);
    this.#handle = null;
    await this.#guard(() => handle.close());
  }

  /** Renames the finished temporary file over the target (synchronous, so
   * that several files are renamed with no event in between). */
  renameSync(): void {
    if (this.#handle !== null) throw new Error(`${this.target.given}: rename before finish`);
    if (this.temporaryPath === null) return;
    try {
      fs.renameSync(this.temporaryPath, this.target.path);
    } catch (error) {
      throw OutputFile.#failure(this.target, error);
    }
    liveTemporaryFiles.delete(this.temporaryPath);
  }

  /** Closes and removes the temporary file; the target is untouched. */
  async discard(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    this.#pending = [];
    try {
      await handle?.close();
    } catch {
      // Closing failed: removing is what matters.
    }
    if (this.temporaryPath === null) return;
    try {
      await fs.promises.unlink(this.temporaryPath);
    } catch {
      // Already gone.
    }
    liveTemporaryFiles.delete(this.temporaryPath);
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const handle = this.#handle;
    if (handle === null) throw new Error(`${this.target.given}: already finished or discarded`);
    const bytes = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingLength = 0;
    await this.#guard(() => handle.write(bytes));
  }

  async #guard(operation: () => Promise<unknown>): Promise<void> {
    try {
      await operation();
    } catch (error) {
      throw OutputFile.#failure(this.target, error);
    }
  }

  static #failure(target: OutputTarget, error: unknown): CommandError {
    return new CommandError(`cannot write ${target.option} ${target.given}: ${errnoText(error)}`, ExitCode.FAILURE);
  }
}

/** Writes a chunk of a command's output to standard output, waiting for
 * the stream to drain when its buffer is full, and marks the output as
 * started (an interrupted run then says that it is incomplete). */
export async function writeToStdout(ctx: RunContext, chunk: Uint8Array): Promise<void> {
  ctx.stdoutStarted = true;
  const { stdout } = ctx.io;
  if (!stdout.write(chunk)) await once(stdout, 'drain');
}
