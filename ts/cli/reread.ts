/**
 * Reading documents again by their place (ts/cli/stream.ts): what
 * `dedup --verify exact` does instead of keeping every text in memory. Only
 * the documents asked for are read, in input order, so each file is read
 * once, front to back: a plain file in windows of WINDOW bytes (a document
 * far from the last one is a seek, not a read of what lies between), a
 * .gz decompressed again as a stream, standard input and FIFOs from the
 * copy the first pass spooled to a temporary file.
 *
 * A file that changed between the passes (its size or its modification
 * time differs from the first pass's) is not read: the run stops with a
 * message naming it, rather than verify pairs against other text.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

import type { PackedDocuments } from '../signature.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { errnoText, type ListedFile } from './files.ts';
import { isGzip } from './input.ts';
import { Pacer } from './pacer.ts';
import { formatBytes } from './progress.ts';
import { parseJsonLine, type DocumentTable, type FileState } from './stream.ts';

/** Bytes read from a plain file at a time. */
const WINDOW = 4 << 20;

export interface RereadOptions {
  readonly files: readonly ListedFile[];
  /** Each file's state in the first pass (null: not a regular file). */
  readonly states: readonly (FileState | null)[];
  /** Where the first pass spooled standard input and FIFOs (by file). */
  readonly spooled: ReadonlyMap<number, string>;
  readonly table: DocumentTable;
  readonly jsonl: boolean;
  readonly textField: string;
  readonly idField: string | null;
  readonly signal: AbortSignal;
  /** Documents read so far, of `total`. */
  readonly onProgress: (done: number, total: number) => void;
}

/** The texts of some documents, packed for the library's batch calls:
 * document ids[k] is packed document k. */
export interface RereadTexts extends PackedDocuments {
  /** The documents, ascending (input order). */
  readonly ids: Int32Array;
}

/** What a changed file looks like, for the message. */
function change(before: FileState, now: fs.Stats): string {
  if (before.size !== now.size) return `its size went from ${before.size} to ${now.size} bytes`;
  return `it was modified at ${new Date(now.mtimeMs).toISOString()}, after it was read ` +
    `(${new Date(before.mtimeMs).toISOString()})`;
}

/**
 * Reads the texts of the documents `wanted` (any order, no repeats needed:
 * repeats are read once) from their files.
 */
export async function rereadTexts(wanted: ArrayLike<number>, options: RereadOptions): Promise<RereadTexts> {
  const ids = Int32Array.from(new Set(Array.from(wanted))).sort();
  const { table } = options;
  let total = 0;
  for (const id of ids) total += table.length(id);
  // The text of a JSON line is at most its bytes: the line bounds it.
  const texts = Buffer.allocUnsafeSlow(total);
  const offsets = new BigUint64Array(ids.length + 1);
  const pacer = new Pacer(options.signal);
  let at = 0;
  let k = 0;
  const put = (text: Buffer | string): void => {
    at += typeof text === 'string' ? texts.write(text, at, 'utf8') : text.copy(texts, at);
    offsets[++k] = BigInt(at);
  };
  while (k < ids.length) {
    const file = table.file(ids[k]!);
    let end = k;
    while (end < ids.length && table.file(ids[end]!) === file) end++;
    const listed = options.files[file]!;
    // A line that no longer parses: the file changed (same size, same time).
    const onBadInput = (bad: { readonly line?: number | undefined; readonly reason: string }): never => {
      throw changedFile(listed, `line ${bad.line}: ${bad.reason}`);
    };
    for await (const bytes of rangesOf(file, ids.subarray(k, end), options)) {
      const id = ids[k]!;
      if (!options.jsonl) {
        put(bytes);
      } else {
        const parsed = parseJsonLine(bytes, { file: listed.display, line: table.line(id) }, { ...options, onBadInput });
        if (parsed === null) throw changedFile(listed, `line ${table.line(id)} is blank now`);
        put(parsed.text);
      }
      if ((k & 255) === 0) {
        options.onProgress(k, ids.length);
        await pacer.tick();
      }
    }
  }
  options.onProgress(ids.length, ids.length);
  return { texts: texts.subarray(0, at), offsets, ndocs: ids.length, ids };
}

function changedFile(file: ListedFile, how: string): CommandError {
  return new CommandError(`${file.display} changed between the passes (${how}): the documents read from it can ` +
    'no longer be verified; no output written', ExitCode.FAILURE);
}

/** The bytes of documents `ids` (ascending, all of file `file`), in order. */
async function* rangesOf(file: number, ids: Int32Array, options: RereadOptions): AsyncGenerator<Buffer> {
  const listed = options.files[file]!;
  const spool = options.spooled.get(file);
  const path = spool ?? listed.path;
  if (path === null || path === undefined) {
    throw new CommandError(`${listed.display} cannot be read again (standard input was not kept); no output ` +
      'written', ExitCode.FAILURE);
  }
  const handle = await fs.promises.open(path, 'r').catch((error: unknown) => {
    throw changedFile(listed, `it cannot be opened: ${errnoText(error)}`);
  });
  try {
    const before = options.states[file];
    if (spool === undefined && before !== null && before !== undefined) {
      const now = await handle.stat();
      if (now.size !== before.size || now.mtimeMs !== before.mtimeMs) throw changedFile(listed, change(before, now));
    }
    if (spool === undefined && isGzip(listed)) yield* gzipRanges(handle, ids, options);
    else yield* plainRanges(handle, ids, options.table);
  } finally {
    await handle.close();
  }
}

/** From a plain file: windows of WINDOW bytes (or one document's size)
 * read where the documents are. */
async function* plainRanges(handle: fs.promises.FileHandle, ids: Int32Array, table: DocumentTable):
  AsyncGenerator<Buffer> {
  let window = Buffer.alloc(0);
  let windowStart = 0;
  for (const id of ids) {
    const start = table.start(id);
    const length = table.length(id);
    if (start < windowStart || start + length > windowStart + window.length) {
      const buffer = Buffer.allocUnsafeSlow(Math.max(WINDOW, length));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      if (bytesRead < length) throw new Error(`short read at byte ${start}`);
      window = buffer.subarray(0, bytesRead);
      windowStart = start;
    }
    yield window.subarray(start - windowStart, start - windowStart + length);
  }
}

/** From a .gz: decompressed again from its start, the documents' ranges
 * cut out as they pass. */
async function* gzipRanges(handle: fs.promises.FileHandle, ids: Int32Array, options: RereadOptions):
  AsyncGenerator<Buffer> {
  const { table } = options;
  const gunzip = handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })
    .pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  let position = 0;
  let k = 0;
  let pending: Buffer[] = [];
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      options.signal.throwIfAborted();
      const chunkEnd = position + chunk.length;
      while (k < ids.length) {
        const start = table.start(ids[k]!);
        const end = start + table.length(ids[k]!);
        if (start >= chunkEnd) break;
        const from = Math.max(start, position) - position;
        const to = Math.min(end, chunkEnd) - position;
        pending.push(chunk.subarray(from, to));
        if (end > chunkEnd) break;
        yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        k++;
      }
      position = chunkEnd;
      if (k === ids.length) return;
    }
  } finally {
    gunzip.destroy();
  }
  if (k < ids.length) throw new Error(`ended at byte ${formatBytes(position)} before the document at ${table.start(ids[k]!)}`);
}
