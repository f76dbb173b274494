/**
 * The command line of `knowhere-rs dedup`: parsing, checking, help text.
 * Every problem is a UsageError (exit status 2) naming the option.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { ShingleKind } from '../signature.ts';
import type { ClusterMode } from './clusters.ts';
import { ExitCode } from './exit-codes.ts';
import { GlobError, compileGlob, type Glob } from './glob.ts';
import { DEFAULT_BATCH_BYTES, DEFAULT_MAX_DOCUMENT_BYTES } from './stream.ts';

export type OutputFormat = 'clusters-jsonl' | 'pairs-csv';

/** --max-pairs: 10^8 pairs take about 2.4 GiB while they are joined. */
export const DEFAULT_MAX_PAIRS = 100_000_000;

export interface DedupOptions {
  readonly inputs: readonly string[];
  readonly demo: boolean;
  readonly jsonl: boolean;
  readonly textField: string;
  readonly idField: string | null;
  readonly output: string | null;
  readonly format: OutputFormat;
  /** pairs-csv stops before the join above this many pairs. */
  readonly maxPairs: number;
  readonly keepFirst: string | null;
  /** The keep list NUL-terminated, names as they are. */
  readonly nul: boolean;
  readonly clusters: ClusterMode;
  readonly include: readonly Glob[];
  readonly exclude: readonly Glob[];
  readonly threshold: number;
  readonly numHashes: number;
  readonly shingle: { readonly kind: ShingleKind; readonly size: number };
  readonly bands: number | null;
  readonly rows: number | null;
  readonly threads: number;
  readonly timeoutSeconds: number | null;
  readonly seed: bigint;
  readonly verify: 'none' | 'exact';
  /** Raw data kept for ranking: 0 full values, 8 or 16 b-bit codes. */
  readonly rawBits: 0 | 8 | 16;
  readonly strict: boolean;
  readonly quiet: boolean;
  /** A document (a file, or a JSON line) larger than this is refused. */
  readonly maxDocumentBytes: number;
  /** Text hashed per native call (and read ahead at most). */
  readonly batchBytes: number;
  /** Print where the memory went at the end. */
  readonly stats: boolean;
}

export class UsageError extends Error {
  readonly exitCode = ExitCode.USAGE;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEDUP_HELP = `Usage: knowhere-rs dedup [options] <file|directory|->...
       knowhere-rs dedup --demo [options]

Finds the near-duplicate documents among files, the files of directories
(recursively) or the lines of JSON Lines files ('-' reads standard input),
and prints the clusters of near-duplicates as JSON Lines.

Input:
  --include GLOB          read only the files (in directories) that match
  --exclude GLOB          skip the files and directories that match; both may
                          be repeated; a GLOB without / matches base names,
                          with / paths below the directory given (*, ?, [..],
                          ** for any directories); named files are always read
  --jsonl                 inputs are JSON Lines, one document per line
  --text-field NAME       the text of a JSON line (default: text)
  --id-field NAME         the name of a JSON line's document (default: file:line)
  --demo                  the SpamAssassin public mail corpus (about 6000 mails)
  --strict                bad input ends the run (exit 65) instead of being skipped
  --max-document-bytes N  refuse a document (a file, or a JSON line) larger
                          than N bytes (default 64M; K, M, G suffixes)
  --batch-bytes N         text hashed per native call, and read ahead at
                          most (default 16M)
  Files whose name ends in .gz are decompressed. A file reached twice (links)
  is read once.

Output (FILE - is standard output; no output may be an input):
  -o, --output FILE       write there (default: standard output)
  --format FORMAT         clusters-jsonl (default) or pairs-csv
  --max-pairs N           pairs-csv: stop before the join when it would list
                          more than N pairs (default 100000000)
  --keep-first FILE       write the documents to keep, one name a line: the
                          representative of each cluster, and every document
                          without a near-duplicate
  -0, --null              end each name of the keep list with NUL, not a
                          newline (for xargs -0); else a name holding a
                          control character, or starting with ", is quoted
  --clusters MODE         cover (default): a document is dropped only if a
                          kept one is within the threshold of it; each
                          cluster is a kept document and those it covers.
                          components: connected components of the pairs
  -q, --quiet             no progress, phase times or summary on stderr
                          (skipped inputs are counted on one line)
  --stats                 print the peak memory and its parts at the end

Matching:
  -t, --threshold T       Jaccard similarity of near-duplicates (default 0.8)
  --num-hashes K          values per MinHash signature (default 128)
  --shingle KIND:N        words:3 (default) or chars:5, any N
  --bands B, --rows R     LSH bands (default: chosen so that a pair at T is a
                          candidate with probability >= 0.95; rows = K / bands)
  --verify exact          keep only pairs whose exact Jaccard similarity of
                          shingle sets is >= T (default: the signature estimate)
  --raw-bits B            8 or 16: rank and verify on B-bit codes of the
                          values instead of the values (0, the default):
                          B / 8 bytes per value in memory instead of 4 (128 B
                          per document at 128 hashes with 8, instead of 512);
                          the estimate is corrected for codes equal by chance
  --seed N                hash seed (default 0)
  --threads N             native threads (default: one per core)
  --timeout SECONDS       give up after that long (exit 124)

Exit status: 0 done, 1 failure, 2 usage error, 65 bad input with --strict,
66 an input cannot be read or no document read, 73 an output cannot be
created, 124 --timeout, 130 interrupted (Ctrl-C), 141 standard output closed
early, 143 terminated (SIGTERM). More: docs/cli.md.
`;

export function numberOption(value: string, name: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${name}: not a number: ${value}`);
  return parsed;
}

export function integerOption(value: string, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const parsed = numberOption(value, name);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name}: expected an integer in ${min}..${max}, got ${value}`);
  }
  return parsed;
}

export function shingleOption(value: string): { kind: ShingleKind; size: number } {
  const match = /^(words|chars)(?::(\d+))?$/.exec(value);
  if (match === null) throw new UsageError(`--shingle: expected words:N or chars:N, got ${value}`);
  const kind = match[1] as ShingleKind;
  const size = match[2] === undefined ? (kind === 'words' ? 3 : 5) : integerOption(match[2], 'shingle', 1, 64);
  return { kind, size };
}

export function seedOption(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new UsageError(`--seed: expected a non-negative integer, got ${value}`);
  const seed = BigInt(value);
  if (seed >= 1n << 64n) throw new UsageError(`--seed: must fit in 64 bits, got ${value}`);
  return seed;
}

const SIZE_SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/** Node's largest Buffer: a document must fit in one. */
const MAX_BUFFER_BYTES = 2 ** 32 - 1;

/** A byte count: digits with an optional K, M or G (binary multiples,
 * KiB / MiB / GiB accepted too). */
export function bytesOption(value: string, name: string, min: number): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const bytes = match === null ? NaN : Number(match[1]) * SIZE_SUFFIX[match[2]!.toLowerCase()]!;
  if (!(bytes >= min && bytes <= MAX_BUFFER_BYTES)) {
    throw new UsageError(`--${name}: expected a size in bytes from ${min} to ${MAX_BUFFER_BYTES} (K, M, G ` +
      `suffixes allowed), got ${value}`);
  }
  return bytes;
}

export function globOption(pattern: string, name: string): Glob {
  try {
    return compileGlob(pattern);
  } catch (error) {
    if (error instanceof GlobError) throw new UsageError(`--${name} ${pattern}: ${error.message}`);
    throw error;
  }
}

/** The options `dedup` and `signatures` share: which documents to read,
 * and how their signatures are made (parseArgs specs). */
export const INPUT_AND_SIGNATURE_OPTIONS = {
  'help': { type: 'boolean', short: 'h' },
  'jsonl': { type: 'boolean' },
  'text-field': { type: 'string' },
  'id-field': { type: 'string' },
  'strict': { type: 'boolean' },
  'include': { type: 'string', multiple: true },
  'exclude': { type: 'string', multiple: true },
  'max-document-bytes': { type: 'string' },
  'batch-bytes': { type: 'string' },
  'output': { type: 'string', short: 'o' },
  'quiet': { type: 'boolean', short: 'q' },
  'threshold': { type: 'string', short: 't' },
  'num-hashes': { type: 'string' },
  'shingle': { type: 'string' },
  'bands': { type: 'string' },
  'rows': { type: 'string' },
  'seed': { type: 'string' },
  'threads': { type: 'string' },
  'timeout': { type: 'string' },
} as const;

/** What the shared options say, checked (the threshold is each command's:
 * dedup accepts T = 1). */
export type InputAndSignatureOptions = Pick<DedupOptions,
  'inputs' | 'jsonl' | 'textField' | 'idField' | 'include' | 'exclude' | 'numHashes' | 'shingle' | 'bands' |
  'rows' | 'threads' | 'timeoutSeconds' | 'seed' | 'strict' | 'quiet' | 'maxDocumentBytes' | 'batchBytes'>;

type SharedValues = { [K in keyof typeof INPUT_AND_SIGNATURE_OPTIONS]?: (typeof INPUT_AND_SIGNATURE_OPTIONS)[K] extends
  { multiple: true } ? string[] : (typeof INPUT_AND_SIGNATURE_OPTIONS)[K] extends { type: 'boolean' } ? boolean : string };

/** Checks the shared options (parsed by parseArgs with
 * INPUT_AND_SIGNATURE_OPTIONS among its specs). */
export function parseInputAndSignatureOptions(v: SharedValues, positionals: readonly string[]): InputAndSignatureOptions {
  if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('- (standard input) given twice');
  for (const name of ['text-field', 'id-field'] as const) {
    if (v[name] !== undefined && !v.jsonl) throw new UsageError(`--${name} needs --jsonl`);
    if (v[name] === '') throw new UsageError(`--${name}: empty field name`);
  }
  const numHashes = v['num-hashes'] === undefined ? 128 : integerOption(v['num-hashes'], 'num-hashes', 1, 65536);
  const bands = v.bands === undefined ? null : integerOption(v.bands, 'bands', 1, numHashes);
  const rows = v.rows === undefined ? null : integerOption(v.rows, 'rows', 1, numHashes);
  if (bands !== null && rows !== null && Math.floor(numHashes / bands) !== rows) {
    throw new UsageError(`--bands ${bands} --rows ${rows}: the index uses rows = floor(num-hashes / bands) = ` +
      `${Math.floor(numHashes / bands)} with ${numHashes} hashes; give one of them`);
  }
  let timeoutSeconds: number | null = null;
  if (v.timeout !== undefined) {
    timeoutSeconds = numberOption(v.timeout, 'timeout');
    if (!(timeoutSeconds > 0)) {
      throw new UsageError(`--timeout: expected a positive number of seconds, got ${v.timeout}`);
    }
  }
  return {
    inputs: positionals,
    jsonl: v.jsonl === true,
    textField: v['text-field'] ?? 'text',
    idField: v['id-field'] ?? null,
    include: (v.include ?? []).map((p) => globOption(p, 'include')),
    exclude: (v.exclude ?? []).map((p) => globOption(p, 'exclude')),
    numHashes,
    shingle: v.shingle === undefined ? { kind: 'words', size: 3 } : shingleOption(v.shingle),
    bands,
    rows,
    threads: v.threads === undefined ? 0 : integerOption(v.threads, 'threads', 0, 1024),
    timeoutSeconds,
    seed: v.seed === undefined ? 0n : seedOption(v.seed),
    strict: v.strict === true,
    quiet: v.quiet === true,
    maxDocumentBytes: v['max-document-bytes'] === undefined ? DEFAULT_MAX_DOCUMENT_BYTES
      : bytesOption(v['max-document-bytes'], 'max-document-bytes', 1),
    batchBytes: v['batch-bytes'] === undefined ? DEFAULT_BATCH_BYTES : bytesOption(v['batch-bytes'], 'batch-bytes', 1),
  };
}

/** What parseCommandLine gives for options T. */
export type CommandLine<T extends NonNullable<ParseArgsConfig['options']>> =
  ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: T }>>;

/** A command's argv parsed against its option specs (strict, positionals
 * allowed); parseArgs's errors become usage errors. */
export function parseCommandLine<const T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[], options: T): CommandLine<T> {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** --threshold (default 0.8): in (0, 1], or in (0, 1) for a command that
 * chooses bands for it. */
export function thresholdOption(value: string | undefined, allowOne: boolean): number {
  const threshold = value === undefined ? 0.8 : numberOption(value, 'threshold');
  if (!(threshold > 0 && (allowOne ? threshold <= 1 : threshold < 1))) {
    throw new UsageError(`--threshold: expected 0 < T ${allowOne ? '<=' : '<'} 1, got ${threshold}`);
  }
  return threshold;
}

/** T = 1 has no band choice: the bands must be given. */
export function checkBandsForThreshold(threshold: number, shared: Pick<InputAndSignatureOptions, 'bands' | 'rows'>): void {
  if (shared.bands === null && shared.rows === null && threshold === 1) {
    throw new UsageError('--threshold 1 needs --bands or --rows (bands are chosen for 0 < T < 1)');
  }
}

/** The options of `dedup` (argv without the command word). */
export function parseDedupOptions(argv: readonly string[]): DedupOptions | 'help' {
  const parsed = parseCommandLine(argv, {
    ...INPUT_AND_SIGNATURE_OPTIONS,
    'demo': { type: 'boolean' },
    'format': { type: 'string' },
    'max-pairs': { type: 'string' },
    'keep-first': { type: 'string' },
    'null': { type: 'boolean', short: '0' },
    'clusters': { type: 'string' },
    'verify': { type: 'string' },
    'raw-bits': { type: 'string' },
    'stats': { type: 'boolean' },
  });
  const v = parsed.values;
  if (v.help === true) return 'help';

  const demo = v.demo === true;
  if (!demo && parsed.positionals.length === 0) {
    throw new UsageError('no input: give files, directories or - (standard input), or --demo');
  }
  if (demo && parsed.positionals.length > 0) throw new UsageError('--demo reads no input files');
  const threshold = thresholdOption(v.threshold, true);
  const shared = parseInputAndSignatureOptions(v, parsed.positionals);
  checkBandsForThreshold(threshold, shared);

  const format = v.format ?? 'clusters-jsonl';
  if (format !== 'clusters-jsonl' && format !== 'pairs-csv') {
    throw new UsageError(`--format: expected clusters-jsonl or pairs-csv, got ${format}`);
  }
  if (v['max-pairs'] !== undefined && format !== 'pairs-csv') throw new UsageError('--max-pairs needs --format pairs-csv');
  const maxPairs = v['max-pairs'] === undefined ? DEFAULT_MAX_PAIRS : integerOption(v['max-pairs'], 'max-pairs', 0);
  const verify = v.verify ?? 'none';
  if (verify !== 'none' && verify !== 'exact') throw new UsageError(`--verify: expected exact or none, got ${verify}`);
  const rawBits = v['raw-bits'] === undefined ? 0 : integerOption(v['raw-bits'], 'raw-bits', 0, 16);
  if (rawBits !== 0 && rawBits !== 8 && rawBits !== 16) {
    throw new UsageError(`--raw-bits: expected 0, 8 or 16, got ${v['raw-bits']}`);
  }
  const clusters = v.clusters ?? 'cover';
  if (clusters !== 'cover' && clusters !== 'components') {
    throw new UsageError(`--clusters: expected cover or components, got ${clusters}`);
  }
  if (v.null === true && v['keep-first'] === undefined) throw new UsageError('--null needs --keep-first');
  if (demo && (v.include !== undefined || v.exclude !== undefined)) {
    throw new UsageError('--include and --exclude choose input files; --demo reads none');
  }

  return {
    ...shared,
    demo,
    output: v.output ?? null,
    format,
    maxPairs,
    keepFirst: v['keep-first'] ?? null,
    nul: v.null === true,
    clusters,
    threshold,
    verify,
    rawBits,
    stats: v.stats === true,
  };
}
