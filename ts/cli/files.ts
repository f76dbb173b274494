/**
 * The files `knowhere-rs dedup` reads: the inputs named on the command line
 * and every regular file below the directories among them (depth first,
 * names sorted byte-wise), chosen by --include / --exclude.
 *
 * Paths are bytes (directories are read with encoding 'buffer'), so a name
 * that is not UTF-8 is read like any other. Each file is identified by its
 * device and inode (stat, following symbolic links): a file reached twice
 * (through a symbolic or hard link, or named twice) is one document, listed
 * under its first path that is not a symbolic link (else its first path),
 * at that path's place. Links to directories are not followed (no cycles).
 *
 * A named input that cannot be found is fatal (exit 66, EX_NOINPUT, as cat
 * fails): the run stops before any work. A problem with a file found in a
 * directory is a bad input, reported and skipped.
 */
import fs from 'node:fs';
import path from 'node:path';

import { CommandError, ExitCode } from './exit-codes.ts';
import { globMatches, type Glob } from './glob.ts';
import { decodeName } from './names.ts';

/** One file to read. */
export interface ListedFile {
  /** Its path as bytes; null for standard input ('-'). */
  readonly path: Buffer | null;
  /** The path as text (decodeName), '-' for standard input. */
  readonly display: string;
  /** Named on the command line (so a failure to read it is fatal). */
  readonly named: boolean;
  /** Reached through a symbolic link. */
  readonly link: boolean;
  /** `dev:ino` of the file (after links); null for standard input. */
  readonly identity: string | null;
  /** Its size when listed; null for standard input and FIFOs. */
  readonly size: number | null;
}

export interface Listing {
  /** The files to read, each once, in reading order. */
  readonly files: readonly ListedFile[];
  /** Every path listed, aliases included (for the output checks). */
  readonly all: readonly ListedFile[];
  /** Paths left out because their file is listed under another path. */
  readonly aliases: number;
}

export interface ListOptions {
  readonly inputs: readonly string[];
  readonly include: readonly Glob[];
  readonly exclude: readonly Glob[];
  readonly signal: AbortSignal;
  /** A file below a directory that cannot be listed. */
  readonly onBadInput: (bad: { readonly file: string; readonly reason: string }) => void;
  /** Files listed so far. */
  readonly onProgress: (count: number) => void;
}

/** Files stat'ed at the same time. */
const STAT_CONCURRENCY = 32;
const SLASH = Buffer.from('/');

/** A Node error's message without its trailing ", syscall 'path'" (the
 * caller names the path the user gave). */
export function errnoText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const syscall = (error as NodeJS.ErrnoException | null)?.syscall;
  if (typeof syscall !== 'string') return message;
  const at = message.lastIndexOf(`, ${syscall}`);
  return at > 0 ? message.slice(0, at) : message;
}

export function reasonOf(error: unknown): string {
  return `cannot read (${errnoText(error)})`;
}

const identityOf = (stats: fs.BigIntStats): string => `${stats.dev}:${stats.ino}`;

/** As path.join names a directory's entries: `docs/a`, and `a` in `.`
 * (the empty prefix). */
function childPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return Buffer.from(name);
  return dir[dir.length - 1] === SLASH[0] ? Buffer.concat([dir, name]) : Buffer.concat([dir, SLASH, name]);
}

/** `results[i] = await work(items[i])`, `limit` at a time. */
async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface Walk {
  readonly options: ListOptions;
  readonly into: ListedFile[];
}

function excluded(walk: Walk, relative: string, name: string, directory: boolean): boolean {
  return walk.options.exclude.some((glob) => globMatches(glob, relative, name) ||
    (directory && globMatches(glob, `${relative}/`, name)));
}

function included(walk: Walk, relative: string, name: string): boolean {
  const { include } = walk.options;
  return (include.length === 0 || include.some((glob) => globMatches(glob, relative, name))) &&
    !excluded(walk, relative, name, false);
}

/** A file entry's stats (following a link); null when it is left out (a
 * link to a directory or to what is not a regular file); the error when it
 * cannot be reached (a dangling link, a file removed meanwhile). */
async function fileStats(full: Buffer): Promise<fs.BigIntStats | null | { error: unknown }> {
  try {
    const stats = await fs.promises.stat(full, { bigint: true });
    return stats.isFile() ? stats : null;
  } catch (error) {
    return { error };
  }
}

/** Every regular file below `dir` (at `relative` below the named one; an
 * empty `dir` is the current directory). */
async function walkDirectory(walk: Walk, dir: Buffer, relative: string, named: boolean): Promise<void> {
  let entries: fs.Dirent<Buffer>[];
  try {
    entries = await fs.promises.readdir(dir.length === 0 ? '.' : dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    const display = dir.length === 0 ? '.' : decodeName(dir);
    if (named) throw cannotRead(display, error);
    walk.options.onBadInput({ file: display, reason: reasonOf(error) });
    return;
  }
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  const described = entries.map((entry) => {
    const name = decodeName(entry.name);
    const full = childPath(dir, entry.name);
    return { entry, full, display: decodeName(full), name, relative: relative === '' ? name : `${relative}/${name}` };
  });
  // The files' stats in parallel, then everything in order.
  const stats = await mapLimit(described, STAT_CONCURRENCY, async (e) => {
    if (!(e.entry.isFile() || e.entry.isSymbolicLink()) || !included(walk, e.relative, e.name)) return null;
    return fileStats(e.full);
  });
  for (let i = 0; i < described.length; i++) {
    walk.options.signal.throwIfAborted();
    const e = described[i]!;
    if (e.entry.isDirectory()) {
      if (!excluded(walk, e.relative, e.name, true)) await walkDirectory(walk, e.full, e.relative, false);
      continue;
    }
    const s = stats[i];
    if (s === null || s === undefined) continue;
    if ('error' in s) {
      // Reported here, in walking order.
      walk.options.onBadInput({ file: e.display, reason: reasonOf(s.error) });
      continue;
    }
    walk.into.push({
      path: e.full, display: e.display, named: false, link: e.entry.isSymbolicLink(),
      identity: identityOf(s), size: Number(s.size),
    });
    walk.options.onProgress(walk.into.length);
  }
}

function cannotRead(display: string, error: unknown): CommandError {
  return new CommandError(`cannot read ${display}: ${errnoText(error)}; no output written`, ExitCode.NO_INPUT);
}

/** A path named on the command line: its file, or the files below it. */
async function listNamed(walk: Walk, input: string): Promise<void> {
  let stats: fs.BigIntStats;
  let link: boolean;
  try {
    stats = await fs.promises.stat(input, { bigint: true });
    link = (await fs.promises.lstat(input)).isSymbolicLink();
  } catch (error) {
    throw cannotRead(input, error);
  }
  if (stats.isDirectory()) {
    // As path.join(dir, name) names the files: ./docs/ -> docs/a, . -> a.
    const base = path.normalize(input);
    await walkDirectory(walk, Buffer.from(base === '.' || base === './' ? '' : base), '', true);
    return;
  }
  // Files, FIFOs and devices: opened (non-blocking) when read.
  walk.into.push({
    path: Buffer.from(input), display: input, named: true, link, identity: identityOf(stats),
    size: stats.isFile() ? Number(stats.size) : null,
  });
  walk.options.onProgress(walk.into.length);
}

/** Keeps one path per file: the first that is not a link, else the first. */
function oncePerFile(all: readonly ListedFile[]): ListedFile[] {
  const chosen = new Map<string, number>();
  all.forEach((file, i) => {
    if (file.identity === null) return;
    const at = chosen.get(file.identity);
    if (at === undefined || (all[at]!.link && !file.link)) chosen.set(file.identity, i);
  });
  return all.filter((file, i) => file.identity === null || chosen.get(file.identity) === i);
}

/** Lists every input: CommandError (exit 66) if a named one is missing. */
export async function listInputs(options: ListOptions): Promise<Listing> {
  const walk: Walk = { options, into: [] };
  for (const input of options.inputs) {
    options.signal.throwIfAborted();
    if (input === '-') {
      walk.into.push({ path: null, display: '-', named: true, link: false, identity: null, size: null });
      continue;
    }
    await listNamed(walk, input);
  }
  const files = oncePerFile(walk.into);
  return { files, all: walk.into, aliases: walk.into.length - files.length };
}

/** `dev:ino` of standard input when it is a regular file (so that an
 * output cannot replace it), else null. */
export async function standardInputIdentity(): Promise<string | null> {
  try {
    const stats = await new Promise<fs.BigIntStats>((resolve, reject) => {
      fs.fstat(0, { bigint: true }, (error, s) => { if (error) reject(error); else resolve(s); });
    });
    return stats.isFile() ? identityOf(stats) : null;
  } catch {
    return null;
  }
}

/** The inputs by identity (`dev:ino`), for checking that no output is one
 * of them (checkOutputs): every listed file, and standard input when it
 * was named. */
export async function inputIdentities(files: readonly ListedFile[], named: readonly string[]):
  Promise<Map<string, { display: string; named: boolean }>> {
  const inputs = new Map<string, { display: string; named: boolean }>();
  for (const file of files) if (file.identity !== null && !inputs.has(file.identity)) inputs.set(file.identity, file);
  const stdin = named.includes('-') ? await standardInputIdentity() : null;
  if (stdin !== null) inputs.set(stdin, { display: '- (standard input)', named: true });
  return inputs;
}
