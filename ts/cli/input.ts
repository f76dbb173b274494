/**
 * Reading the documents of `knowhere-rs dedup`: the files listed by
 * ts/cli/files.ts, each one document or, with --jsonl, one per line.
 *
 * Every file is opened non-blocking (O_NONBLOCK), so that opening a FIFO
 * never waits on a thread for a writer, and then judged by what it is
 * (fstat): a regular file is read on the thread pool; a FIFO is read
 * through the event loop (as a pipe), so --timeout, SIGTERM and Ctrl-C stop
 * the wait; anything else (a device, a socket) is refused. Files whose name
 * ends in `.gz` are decompressed as they are read (node:zlib).
 *
 * Bad input is never silent: an unreadable file, a corrupt .gz, a binary
 * file (a NUL byte in its first 8 KiB), an invalid JSON line, a line without
 * the text field (or whose text is not a string), a missing id field, and an
 * empty document (nothing but whitespace) are each reported through
 * `onBadInput` with the file and, for JSON Lines, the line number; the
 * caller decides whether that skips the document or ends the run (--strict).
 * A named input that cannot be opened ends the run (exit 66). Blank lines
 * of a JSON Lines file are not documents and are skipped silently.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

import { CommandError, ExitCode } from './exit-codes.ts';
import { errnoText, reasonOf, type ListedFile } from './files.ts';
import { Pacer } from './pacer.ts';

/** Where a document came from, and the name it is listed under. */
export interface DocumentSource {
  /** The name in JSON and in messages: the file's path (decodeName), the
   * JSONL id-field value, or `file:line`. */
  readonly name: string;
  /** The name's bytes when they are not its UTF-8 (a file name that is not
   * UTF-8: `name` then holds each stray byte as \udcXX), for the keep list
   * and CSV; see nameBytesOf. */
  readonly nameBytes?: Uint8Array | undefined;
  /** The file it was read from ('-' for standard input). */
  readonly file: string;
  /** Its line in a JSON Lines file (1-based). */
  readonly line?: number | undefined;
}

export interface InputDocument extends DocumentSource {
  /** UTF-8 text. `dedup` lets it go (an empty array) once it is hashed,
   * unless --verify needs it again. */
  text: Uint8Array;
}

export interface BadInput {
  readonly file: string;
  readonly line?: number | undefined;
  readonly reason: string;
}

export interface ReadOptions {
  readonly files: readonly ListedFile[];
  readonly jsonl: boolean;
  readonly textField: string;
  readonly idField: string | null;
  readonly signal: AbortSignal;
  /** Reports a bad input; throw from it to stop reading (--strict). */
  readonly onBadInput: (bad: BadInput) => void;
  /** `done` of `total` units (files, or bytes for JSON Lines; total 0 when
   * unknown). */
  readonly onProgress: (done: number, total: number) => void;
  readonly stdin: NodeJS.ReadableStream;
}

/** "file" or "file:line", as messages name a place. */
export function placeOf(bad: { readonly file: string; readonly line?: number | undefined }): string {
  const file = bad.file === '-' ? '<stdin>' : bad.file;
  return bad.line === undefined ? file : `${file}:${bad.line}`;
}

/** Bytes of a file checked for NUL when deciding it is binary. */
export const BINARY_PROBE = 8192;
/** Files read at the same time. */
const READ_CONCURRENCY = 16;

const decoder = new TextDecoder('utf-8');
const NOT_SPACE = /[^\p{White_Space}]/u;

export function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_PROBE).includes(0);
}

/** Whether a text has nothing but Unicode White_Space (no shingle). */
export function isBlankBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) continue;
    if (b < 0x80) return false;
    return !NOT_SPACE.test(decoder.decode(bytes));
  }
  return true;
}

export function isBlankString(text: string): boolean {
  return !NOT_SPACE.test(text);
}

// ---------------------------------------------------------------------------
// Reading one file
// ---------------------------------------------------------------------------

/** A file that is neither regular nor a FIFO. */
export class NotReadable extends Error {}

/** A .gz file that does not decompress. */
export class CorruptGzip extends Error {}

export function kindOf(stats: fs.Stats): string {
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a directory';
  return 'not a file';
}

export const isGzip = (file: ListedFile): boolean => file.display.endsWith('.gz');

export const openNonBlocking = (file: Buffer): Promise<number> => new Promise((resolve, reject) => {
  fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK, (error, fd) => {
    if (error) reject(error); else resolve(fd);
  });
});

export const fstat = (fd: number): Promise<fs.Stats> => new Promise((resolve, reject) => {
  fs.fstat(fd, (error, stats) => { if (error) reject(error); else resolve(stats); });
});

const readWhole = (fd: number, signal: AbortSignal): Promise<Buffer> => new Promise((resolve, reject) => {
  fs.readFile(fd, { signal }, (error, data) => { if (error) reject(error); else resolve(data); });
});

export const close = (fd: number): void => { fs.close(fd, () => { /* nothing to do on failure */ }); };

/** All of `source` (through gunzip when `gzip`); it is destroyed on abort. */
async function collect(source: Readable, gzip: boolean, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = async (stream: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of stream) chunks.push(chunk);
  };
  try {
    if (gzip) await pipeline(source, zlib.createGunzip(), sink, { signal });
    else await pipeline(source, sink, { signal });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!signal.aborted && typeof code === 'string' && code.startsWith('Z_')) {
      throw new CorruptGzip((error as Error).message);
    }
    throw error;
  }
  return Buffer.concat(chunks);
}

/** The bytes of a file (a FIFO waits for its writer, abortably). */
async function readPath(file: ListedFile & { path: Buffer }, signal: AbortSignal): Promise<Buffer> {
  const fd = await openNonBlocking(file.path);
  let owned = true;
  try {
    const stats = await fstat(fd);
    if (stats.isFile()) {
      if (!isGzip(file)) return await readWhole(fd, signal);
      // The stream closes the fd, after its last read (a corrupt .gz stops
      // it mid-file: closing under a pending read could hit a reused fd).
      owned = false;
      return await collect(fs.createReadStream('', { fd, autoClose: true }), true, signal);
    }
    if (stats.isFIFO()) {
      // A pipe handle on the event loop: it waits for a writer without a
      // thread, and is closed (with the fd) when destroyed.
      owned = false;
      return await collect(new net.Socket({ fd, readable: true, writable: false }), isGzip(file), signal);
    }
    throw new NotReadable(`not a regular file or a FIFO (${kindOf(stats)})`);
  } finally {
    if (owned) close(fd);
  }
}

/** All of a stream, or the signal's reason once it aborts. The stream is
 * paused, not destroyed: it is standard input, which the run does not own. */
function readStream(stream: NodeJS.ReadableStream, signal: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer | string): void => {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    };
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onEnd = (): void => { cleanup(); resolve(Buffer.concat(chunks)); };
    const onError = (error: Error): void => { cleanup(); reject(error); };
    const onAbort = (): void => { cleanup(); stream.pause(); reject(signal.reason); };
    signal.throwIfAborted();
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A file's bytes, or null after reporting why not. A named file that
 * cannot be opened or is not a file ends the run (exit 66). */
async function readInput(file: ListedFile, options: ReadOptions): Promise<Buffer | null> {
  try {
    return file.path === null
      ? await readStream(options.stdin, options.signal)
      : await readPath({ ...file, path: file.path }, options.signal);
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (error instanceof CorruptGzip) {
      options.onBadInput({ file: file.display, reason: `corrupt gzip (${error.message})` });
      return null;
    }
    if (file.named) {
      const why = error instanceof NotReadable ? error.message : errnoText(error);
      throw new CommandError(`cannot read ${file.display}: ${why}; no output written`, ExitCode.NO_INPUT);
    }
    options.onBadInput({ file: file.display, reason: error instanceof NotReadable ? error.message : reasonOf(error) });
    return null;
  }
}

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------

/** A name's bytes, for the keep list and CSV. */
export function nameBytesOf(source: DocumentSource): Uint8Array {
  return source.nameBytes ?? Buffer.from(source.name);
}

/** The path's bytes if the path is not UTF-8 (each stray byte is one byte
 * of the path and three of its text's UTF-8), else undefined. */
export function strayPathBytes(file: ListedFile): Buffer | undefined {
  return file.path === null || Buffer.byteLength(file.display) === file.path.length ? undefined : file.path;
}

function fileDocument(file: ListedFile, text: Buffer): InputDocument {
  return file.path === null
    ? { name: '<stdin>', file: '-', text }
    : { name: file.display, nameBytes: strayPathBytes(file), file: file.display, text };
}

/** Each file is one document. */
async function readPlainFiles(options: ReadOptions): Promise<InputDocument[]> {
  const { files } = options;
  const documents: (InputDocument | null)[] = new Array<InputDocument | null>(files.length).fill(null);
  const contents: (Buffer | null | undefined)[] = new Array<Buffer | null | undefined>(files.length);
  let next = 0;
  let done = 0;
  let reported = 0;
  // Files are read READ_CONCURRENCY at a time, and judged in input order
  // (so that messages come in a stable order).
  const judge = (): void => {
    while (reported < files.length && contents[reported] !== undefined) {
      const file = files[reported]!;
      const bytes = contents[reported];
      contents[reported] = null;
      if (bytes !== null && bytes !== undefined) {
        if (isBinary(bytes)) options.onBadInput({ file: file.display, reason: 'binary file (a NUL byte in the first 8 KiB)' });
        else if (isBlankBytes(bytes)) options.onBadInput({ file: file.display, reason: 'empty document' });
        else documents[reported] = fileDocument(file, bytes);
      }
      reported++;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const at = next++;
      contents[at] = await readInput(files[at]!, options);
      done++;
      options.onProgress(done, files.length);
      judge();
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, files.length) }, worker));
  judge();
  return documents.filter((d): d is InputDocument => d !== null);
}

/**
 * The texts of JSON Lines documents, written one after another into large
 * buffers: a document's text is a view into one. Small Buffers of their
 * own (Buffer.from) would come from Node's 8 KiB pool, whose slabs the C
 * heap keeps after they are freed; these buffers are allocated (and given
 * back) whole, and a batch of documents is already laid out end to end.
 */
class TextArena {
  static readonly SIZE = 16 << 20;
  /** Texts remembered, so that a document repeating one of them shares its
   * bytes (boilerplate repeated a million times is stored once, and hashed
   * once: see indexPhase in dedup.ts); forgotten all at once when full. */
  static readonly RECENT = 1024;
  #buffer = Buffer.allocUnsafeSlow(0);
  #used = 0;
  readonly #recent = new Map<string, Uint8Array>();

  add(text: string): Uint8Array {
    const known = this.#recent.get(text);
    if (known !== undefined) return known;
    if (this.#recent.size >= TextArena.RECENT) this.#recent.clear();
    const bytes = this.#write(text);
    this.#recent.set(text, bytes);
    return bytes;
  }

  #write(text: string): Uint8Array {
    // A UTF-16 unit is at most 3 bytes of UTF-8: the exact length is only
    // measured when the text might not fit.
    if (this.#buffer.length - this.#used < 3 * text.length) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (this.#buffer.length - this.#used < bytes) {
        this.#buffer = Buffer.allocUnsafeSlow(Math.max(TextArena.SIZE, bytes));
        this.#used = 0;
      }
    }
    const start = this.#used;
    this.#used += this.#buffer.write(text, start, 'utf8');
    return this.#buffer.subarray(start, this.#used);
  }
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** A JSON line's document named by its place: the name is made when it is
 * read (a million names made up front are 60 MB of strings). */
class JsonLineDocument implements InputDocument {
  readonly file: string;
  readonly line: number;
  readonly nameBytes: Uint8Array | undefined;
  text: Uint8Array;

  constructor(file: string, line: number, nameBytes: Uint8Array | undefined, text: Uint8Array) {
    this.file = file;
    this.line = line;
    this.nameBytes = nameBytes;
    this.text = text;
  }

  get name(): string {
    return placeOf(this);
  }
}

/** Each non-blank line of each file is a JSON object with the text. Lines
 * are decoded one by one from the file's bytes (a leading byte order mark
 * is dropped, as a decoder of the whole file drops it), so the file is
 * never held as one string too. */
async function readJsonLines(options: ReadOptions): Promise<InputDocument[]> {
  const { files } = options;
  // Standard input and FIFOs have no size: then the total is unknown.
  const total = files.some((f) => f.size === null) ? 0 : files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  const documents: InputDocument[] = [];
  const arena = new TextArena();
  const pacer = new Pacer(options.signal);
  let base = 0;
  for (const file of files) {
    const stray = strayPathBytes(file);
    const bytes = await readInput(file, options);
    // Progress in the file's size as listed (compressed, for a .gz).
    const size = file.size ?? bytes?.byteLength ?? 0;
    if (bytes === null) {
      base += size;
      continue;
    }
    if (isBinary(bytes)) {
      options.onBadInput({ file: file.display, reason: 'binary file (a NUL byte in the first 8 KiB)' });
      base += size;
      continue;
    }
    const scale = bytes.length === 0 ? 0 : size / bytes.length;
    let start = UTF8_BOM.every((b, i) => bytes[i] === b) ? UTF8_BOM.length : 0;
    for (let line = 1; start <= bytes.length; line++) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      const raw = bytes.toString('utf8', start, end);
      start = end + 1;
      const document = parseLine(raw, file, stray, line, options, arena);
      if (document !== null) documents.push(document);
      if ((line & 255) === 0) {
        options.onProgress(base + Math.floor(Math.min(start, bytes.length) * scale), total);
        await pacer.tick();
      }
    }
    base += size;
    options.onProgress(base, total);
  }
  return documents;
}

/** One JSON line's document; `stray` is the file's path if not UTF-8. */
function parseLine(raw: string, file: ListedFile, stray: Buffer | undefined, line: number, options: ReadOptions,
                   arena: TextArena): InputDocument | null {
  if (isBlankString(raw)) return null;
  const place = { file: file.display, line };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    options.onBadInput({ ...place, reason: `invalid JSON (${message})` });
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    options.onBadInput({ ...place, reason: 'not a JSON object' });
    return null;
  }
  const record = value as Record<string, unknown>;
  const text = record[options.textField];
  if (text === undefined) {
    options.onBadInput({ ...place, reason: `missing text field "${options.textField}"` });
    return null;
  }
  if (typeof text !== 'string') {
    options.onBadInput({ ...place, reason: `text field "${options.textField}" is not a string` });
    return null;
  }
  let name: string | null = null; // by place, unless --id-field names it
  let nameBytes = stray === undefined ? undefined : Buffer.concat([stray, Buffer.from(`:${line}`)]);
  if (options.idField !== null) {
    const id = record[options.idField];
    if (typeof id !== 'string' && typeof id !== 'number') {
      options.onBadInput({
        ...place,
        reason: id === undefined ? `missing id field "${options.idField}"`
          : `id field "${options.idField}" is not a string or a number`,
      });
      return null;
    }
    name = String(id);
    nameBytes = undefined;
  }
  if (isBlankString(text)) {
    options.onBadInput({ ...place, reason: 'empty document' });
    return null;
  }
  return name === null ? new JsonLineDocument(file.display, line, nameBytes, arena.add(text))
    : { name, nameBytes, file: file.display, line, text: arena.add(text) };
}

/** The unit of reading progress: files, or bytes for JSON Lines. */
export function readingUnit(jsonl: boolean): string {
  return jsonl ? 'bytes' : 'files';
}

/** The documents of the listed files, in order, bad ones reported and left
 * out. */
export function readDocuments(options: ReadOptions): Promise<InputDocument[]> {
  // Each file read at the same time (a stream pipeline) listens to the
  // signal: more than Node's default of 10 listeners, and no leak.
  const { signal } = options;
  setMaxListeners(Math.max(getMaxListeners(signal), 2 * READ_CONCURRENCY + 10), signal);
  return options.jsonl ? readJsonLines(options) : readPlainFiles(options);
}
