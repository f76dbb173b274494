/**
 * Streaming the documents of the listed files in bounded batches, for
 * corpora larger than memory (docs/cli.md, "Corpora larger than memory").
 *
 * A batch is the documents' UTF-8 texts laid end to end in one buffer with
 * their offsets: what the native batch signature call reads, in place
 * (signaturesOfPackedAsync). With each document goes its place: the file
 * (its index in the listing), the byte offset and length of the document
 * in the file's bytes (decompressed for a .gz; the whole file, or one JSON
 * line), its line and, with --id-field, its id. After hashing, the place is
 * all that is kept of a document (DocumentTable): its text can be read
 * again from there (ts/cli/reread.ts).
 *
 * Memory is bounded whatever the input: a JSON Lines file is read in
 * chunks of READ_CHUNK bytes and split into lines as it goes (a line longer
 * than --max-document-bytes is refused without being held), a batch holds
 * at most --batch-bytes of text, and the consumer pulls batches one at a
 * time (readAhead): the reader is never more than one batch ahead of
 * hashing. A document larger than a batch is a batch of its own, read
 * straight into its buffer and hashed there (held once).
 *
 * Bad input is reported as input.ts reports it (and with the same words),
 * with two differences that streaming brings: a JSON Lines .gz that turns
 * out corrupt after some lines keeps the lines read before the damage (the
 * message says how many), and a document larger than --max-document-bytes
 * is refused ("skipped big.txt: 600.0 MiB, larger than
 * --max-document-bytes (64.0 MiB)").
 */
import { randomBytes } from 'node:crypto';
import { getMaxListeners, setMaxListeners } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';

import { CommandError, ExitCode } from './exit-codes.ts';
import { errnoText, reasonOf, type ListedFile } from './files.ts';
import {
  BINARY_PROBE, CorruptGzip, NotReadable, close, fstat, isBinary, isBlankBytes, isBlankString, isGzip, kindOf,
  openNonBlocking, placeOf, strayPathBytes, type BadInput, type DocumentSource,
} from './input.ts';
import { holdTemporaryFile } from './output.ts';
import { Pacer } from './pacer.ts';
import { formatBytes } from './progress.ts';

/** The default --max-document-bytes: a document (a file, or a JSON line)
 * larger than this is refused. A JSON line is held about three times while
 * it is parsed (its bytes, the string, the text's UTF-8). */
export const DEFAULT_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** The default --batch-bytes: text per native batch call. */
export const DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;
/** Documents per batch at most (the places of a batch are preallocated). */
const BATCH_DOCUMENTS = 1 << 15;
/** Bytes read from a file at a time. */
const READ_CHUNK = 1 << 20;
/** Whole files (one document each) read at the same time, and the bytes
 * they may hold together while waiting for their turn. */
const READ_CONCURRENCY = 16;
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

const NEWLINE = 0x0a;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** What a file was when it was read: a later pass compares (ts/cli/reread.ts). */
export interface FileState {
  readonly size: number;
  readonly mtimeMs: number;
}

/** A batch of documents (see above): document i's text is
 * texts[offsets[i] .. offsets[i + 1]]. */
export interface DocumentBatch {
  readonly count: number;
  readonly texts: Buffer;
  /** count + 1 entries. */
  readonly offsets: BigUint64Array;
  /** Index of the document's file in the listing. */
  readonly file: Uint32Array;
  /** Byte offset of the document in its file's (decompressed) bytes. */
  readonly start: Float64Array;
  /** Bytes of the document in the file: the whole file, or the JSON line
   * without its newline. */
  readonly length: Float64Array;
  /** 1-based line of a JSON Lines document; 0 for a whole file. */
  readonly line: Uint32Array;
  /** --id-field values, or null without --id-field. */
  readonly ids: (string | null)[] | null;
}

export interface StreamOptions {
  readonly files: readonly ListedFile[];
  readonly jsonl: boolean;
  readonly textField: string;
  readonly idField: string | null;
  readonly maxDocumentBytes: number;
  readonly batchBytes: number;
  readonly signal: AbortSignal;
  readonly stdin: NodeJS.ReadableStream;
  /** Reports a bad input; throw from it to stop reading (--strict). */
  readonly onBadInput: (bad: BadInput) => void;
  /** `done` of `total` units (files, or bytes for JSON Lines; total 0 when
   * unknown). */
  readonly onProgress: (done: number, total: number) => void;
  /** Keep a copy of what cannot be read twice (standard input, FIFOs) in
   * temporary files (`spooled`), for a second pass (ts/cli/reread.ts). */
  readonly spool?: boolean | undefined;
}

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

interface Place {
  readonly file: number;
  readonly start: number;
  readonly length: number;
  readonly line: number;
  readonly id: string | null;
}

/** Fills one batch at a time. */
class BatchBuilder {
  readonly #capacity: number;
  readonly #withIds: boolean;
  #texts: Buffer;
  #used = 0;
  #count = 0;
  #offsets = new BigUint64Array(BATCH_DOCUMENTS + 1);
  #file = new Uint32Array(BATCH_DOCUMENTS);
  #start = new Float64Array(BATCH_DOCUMENTS);
  #length = new Float64Array(BATCH_DOCUMENTS);
  #line = new Uint32Array(BATCH_DOCUMENTS);
  #ids: (string | null)[] = [];
  /** Text buffers given back by release(). */
  readonly #spare: Buffer[] = [];

  constructor(capacity: number, withIds: boolean) {
    this.#capacity = capacity;
    this.#withIds = withIds;
    this.#texts = Buffer.allocUnsafeSlow(capacity);
  }

  get count(): number {
    return this.#count;
  }

  /** Whether `bytes` more bytes (and one more document) fit. */
  fits(bytes: number): boolean {
    return this.#count < BATCH_DOCUMENTS && this.#used + bytes <= this.#capacity;
  }

  /** Adds a text of at most `bound` bytes of UTF-8 (fits(bound) was true). */
  addString(text: string, place: Place): void {
    this.#used += this.#texts.write(text, this.#used, 'utf8');
    this.#place(place);
  }

  addBytes(bytes: Uint8Array, place: Place): void {
    this.#texts.set(bytes, this.#used);
    this.#used += bytes.byteLength;
    this.#place(place);
  }

  #place(place: Place): void {
    const i = this.#count++;
    this.#offsets[i + 1] = BigInt(this.#used);
    this.#file[i] = place.file;
    this.#start[i] = place.start;
    this.#length[i] = place.length;
    this.#line[i] = place.line;
    if (this.#withIds) this.#ids.push(place.id);
  }

  /** Takes back the text buffer of a batch that is done with (so that a
   * run allocates two or three, not one per batch). */
  release(batch: DocumentBatch): void {
    const buffer = batch.texts.buffer;
    if (buffer.byteLength === this.#capacity && this.#spare.length < 2) {
      this.#spare.push(Buffer.from(buffer, 0, this.#capacity));
    }
  }

  /** The batch so far; the builder starts a new one. */
  take(): DocumentBatch {
    const n = this.#count;
    const batch: DocumentBatch = {
      count: n, texts: this.#texts.subarray(0, this.#used), offsets: this.#offsets.slice(0, n + 1),
      file: this.#file.slice(0, n), start: this.#start.slice(0, n), length: this.#length.slice(0, n),
      line: this.#line.slice(0, n), ids: this.#withIds ? this.#ids : null,
    };
    // The texts go with the batch (hashed in place): another buffer, one
    // given back (release) if there is one.
    this.#texts = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#capacity);
    this.#used = 0;
    this.#count = 0;
    this.#ids = [];
    return batch;
  }
}

/** A batch of one document whose text is `text` itself (no copy). */
function singleBatch(text: Buffer, place: Place, withIds: boolean): DocumentBatch {
  return {
    count: 1, texts: text, offsets: BigUint64Array.of(0n, BigInt(text.byteLength)), file: Uint32Array.of(place.file),
    start: Float64Array.of(place.start), length: Float64Array.of(place.length), line: Uint32Array.of(place.line),
    ids: withIds ? [place.id] : null,
  };
}

// ---------------------------------------------------------------------------
// Reading a file's bytes as a stream
// ---------------------------------------------------------------------------

/** The chunks of a stream, pulled one at a time (so the stream waits while
 * the consumer works: backpressure); ends early, throwing the reason, when
 * the signal aborts. The stream is not destroyed (standard input is not
 * ours to close): the caller destroys its own. */
async function* chunksOf(stream: NodeJS.ReadableStream, signal: AbortSignal): AsyncGenerator<Buffer> {
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => { wake?.(); };
  const onEnd = (): void => { ended = true; poke(); };
  const onError = (error: Error): void => { failure = error; poke(); };
  stream.on('readable', poke);
  stream.on('end', onEnd);
  stream.on('error', onError);
  signal.addEventListener('abort', poke);
  try {
    for (;;) {
      signal.throwIfAborted();
      if (failure !== null) throw failure;
      const chunk = stream.read() as Buffer | string | null;
      if (chunk !== null) {
        yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = null;
    }
  } finally {
    stream.off('readable', poke);
    stream.off('end', onEnd);
    stream.off('error', onError);
    signal.removeEventListener('abort', poke);
    // Standard input stays paused for whoever reads it next.
    stream.pause();
  }
}

/** An opened input: its chunks, how many of its (compressed) bytes were
 * read, and its state. */
interface OpenedInput {
  readonly chunks: AsyncGenerator<Buffer>;
  readonly bytesRead: () => number;
  readonly state: FileState | null;
  /** The size of a regular file that is not compressed (its document's
   * size when it is one document), else null. */
  readonly plainSize: number | null;
  readonly fd: number | null;
  readonly destroy: () => void;
}

/** The chunks of `chunks`, each also appended to the file `spool` (made
 * here; the caller removes it). */
async function* spooling(chunks: AsyncGenerator<Buffer>, spool: string): AsyncGenerator<Buffer> {
  const fd = fs.openSync(spool, 'wx', 0o600);
  try {
    for await (const chunk of chunks) {
      fs.writeSync(fd, chunk);
      yield chunk;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Z_* errors of node:zlib: the .gz is corrupt. */
function gzipFailure(error: unknown, signal: AbortSignal): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (!signal.aborted && typeof code === 'string' && code.startsWith('Z_')) return new CorruptGzip((error as Error).message);
  return error;
}

/** Opens a listed file (non-blocking: a FIFO never holds a thread) or
 * standard input, through gunzip for a .gz. */
async function openInput(file: ListedFile, signal: AbortSignal, stdin: NodeJS.ReadableStream): Promise<OpenedInput> {
  let source: Readable | NodeJS.ReadableStream;
  let state: FileState | null = null;
  let plainSize: number | null = null;
  let owned: Readable | null = null;
  let fd: number | null = null;
  if (file.path === null) {
    source = stdin;
  } else {
    fd = await openNonBlocking(file.path);
    let stats: fs.Stats;
    try {
      stats = await fstat(fd);
    } catch (error) {
      close(fd);
      throw error;
    }
    if (stats.isFile()) {
      state = { size: stats.size, mtimeMs: stats.mtimeMs };
      if (!isGzip(file)) plainSize = stats.size;
      owned = fs.createReadStream('', { fd, autoClose: true, highWaterMark: READ_CHUNK });
    } else if (stats.isFIFO()) {
      // A pipe handle on the event loop: it waits for a writer without a
      // thread, and closes the fd when destroyed.
      owned = new net.Socket({ fd, readable: true, writable: false });
    } else {
      close(fd);
      throw new NotReadable(`not a regular file or a FIFO (${kindOf(stats)})`);
    }
    source = owned;
  }
  const raw = source as Readable & { bytesRead?: number };
  let counted = 0;
  const countBytes = (chunk: Buffer): void => { counted += chunk.length; };
  if (isGzip(file)) {
    raw.on('data', countBytes);
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    // Errors of either end up on gunzip; the source (ours) is destroyed.
    pipeline(raw as Readable, gunzip, () => { /* errors are read from gunzip */ });
    const chunks = (async function* (): AsyncGenerator<Buffer> {
      try {
        yield* chunksOf(gunzip, signal);
      } catch (error) {
        throw gzipFailure(error, signal);
      }
    })();
    return {
      chunks, bytesRead: () => counted, state, plainSize: null, fd,
      destroy: () => { gunzip.destroy(); if (owned !== null) owned.destroy(); else raw.off('data', countBytes); },
    };
  }
  return {
    chunks: chunksOf(raw, signal), bytesRead: () => raw.bytesRead ?? counted, state, plainSize, fd,
    destroy: () => { owned?.destroy(); },
  };
}

// ---------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------

/** The reading of one run: the batches, and what was learnt on the way. */
export class DocumentStream {
  readonly #options: StreamOptions;
  readonly #builder: BatchBuilder;
  readonly #pacer: Pacer;
  /** Each file's state when it was read (null: not a regular file, or not
   * read). */
  readonly fileStates: (FileState | null)[];
  /** Documents and bytes of text read so far. */
  documents = 0;
  textBytes = 0;
  /** Complete lines of the JSON Lines input being read. */
  linesRead = 0;
  /** The spooled copies of inputs that cannot be read twice, by file. */
  readonly spooled = new Map<number, string>();
  #progressBase = 0;
  #progressTotal: number;

  constructor(options: StreamOptions) {
    this.#options = options;
    // Each file read at the same time (a stream) listens to the signal:
    // more than Node's default of 10 listeners, and no leak.
    setMaxListeners(Math.max(getMaxListeners(options.signal), 2 * READ_CONCURRENCY + 10), options.signal);
    this.#builder = new BatchBuilder(options.batchBytes, options.idField !== null);
    this.#pacer = new Pacer(options.signal);
    this.fileStates = new Array<FileState | null>(options.files.length).fill(null);
    const { files } = options;
    this.#progressTotal = !options.jsonl ? files.length
      : files.some((f) => f.size === null) ? 0 : files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  }

  /** Gives back a batch's buffer once it is hashed: its texts must not be
   * used after this. */
  release(batch: DocumentBatch): void {
    this.#builder.release(batch);
  }

  /** The batches, in input order. */
  async* batches(): AsyncGenerator<DocumentBatch> {
    if (this.#options.jsonl) yield* this.#jsonLines();
    else yield* this.#wholeFiles();
    if (this.#builder.count > 0) yield this.#counted(this.#builder.take());
  }

  #counted(batch: DocumentBatch): DocumentBatch {
    this.documents += batch.count;
    this.textBytes += batch.texts.byteLength;
    return batch;
  }

  /** Adds a document; a full batch is returned (to be yielded) first. */
  /** Adds a document to the batch being made; returns the batches it
   * completed (the one it did not fit in, or its own when it is larger
   * than a batch), or null: most documents complete none, and a plain call
   * per line costs far less than a generator per line. */
  #add(text: string | Buffer, bound: number, place: Place): DocumentBatch[] | null {
    const builder = this.#builder;
    let done: DocumentBatch[] | null = null;
    if (!builder.fits(bound)) {
      // The bound is 3 bytes per UTF-16 unit: the exact size may fit.
      const exact = typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : bound;
      if (!builder.fits(exact)) {
        if (builder.count > 0) done = [this.#counted(builder.take())];
        if (!builder.fits(exact)) {
          // Larger than a batch: a batch of its own.
          (done ??= []).push(this.#counted(singleBatch(typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
            place, this.#options.idField !== null)));
          return done;
        }
      }
    }
    if (typeof text === 'string') builder.addString(text, place);
    else builder.addBytes(text, place);
    return done;
  }


  #tooLarge(file: ListedFile, line: number | undefined, bytes: number, atLeast: boolean): void {
    const max = this.#options.maxDocumentBytes;
    this.#options.onBadInput({
      file: file.display, line,
      reason: `${atLeast ? 'more than ' : ''}${formatBytes(bytes)}, larger than --max-document-bytes (${formatBytes(max)})`,
    });
  }

  /** Opens a file, or reports why not (a named file that cannot be read
   * ends the run, exit 66) and returns null. */
  async #open(file: ListedFile, index: number): Promise<OpenedInput | null> {
    const { signal, stdin } = this.#options;
    try {
      const opened = await openInput(file, signal, stdin);
      this.fileStates[index] = opened.state;
      if (this.#options.spool !== true || opened.state !== null) return opened;
      const spool = path.join(os.tmpdir(), `.knowhere-rs.${process.pid}.${randomBytes(4).toString('hex')}.spool`);
      holdTemporaryFile(spool);
      this.spooled.set(index, spool);
      return { ...opened, chunks: spooling(opened.chunks, spool) };
    } catch (error) {
      this.#cannotRead(file, error);
      return null;
    }
  }

  #cannotRead(file: ListedFile, error: unknown): void {
    if (this.#options.signal.aborted) throw this.#options.signal.reason;
    if (error instanceof CorruptGzip) {
      this.#options.onBadInput({ file: file.display, reason: `corrupt gzip (${error.message})` });
      return;
    }
    if (file.named) {
      const why = error instanceof NotReadable ? error.message : errnoText(error);
      throw new CommandError(`cannot read ${file.display}: ${why}; no output written`, ExitCode.NO_INPUT);
    }
    this.#options.onBadInput({ file: file.display, reason: error instanceof NotReadable ? error.message : reasonOf(error) });
  }

  // ---- whole files ---------------------------------------------------------

  /** Each file is one document; files are read READ_CONCURRENCY at a time
   * (at most READ_AHEAD_BYTES of them waiting), in order. */
  async* #wholeFiles(): AsyncGenerator<DocumentBatch> {
    const { files } = this.#options;
    const pending: { index: number; read: Promise<Buffer | null> }[] = [];
    let next = 0;
    let waiting = 0;
    const sizeOf = (i: number): number => files[i]!.size ?? 0;
    for (let done = 0; done < files.length; done++) {
      while (next < files.length && pending.length < READ_CONCURRENCY &&
             (pending.length === 0 || waiting + sizeOf(next) <= READ_AHEAD_BYTES)) {
        waiting += sizeOf(next);
        const index = next++;
        const read = this.#readWhole(files[index]!, index);
        // Judged in order below; a rejection is handled there.
        read.catch(() => { /* seen when awaited */ });
        pending.push({ index, read });
      }
      const { index, read } = pending.shift()!;
      const bytes = await read;
      waiting -= sizeOf(index);
      this.#options.onProgress(done + 1, files.length);
      if (bytes === null) continue;
      const file = files[index]!;
      if (isBinary(bytes)) {
        this.#options.onBadInput({ file: file.display, reason: 'binary file (a NUL byte in the first 8 KiB)' });
      } else if (isBlankBytes(bytes)) {
        this.#options.onBadInput({ file: file.display, reason: 'empty document' });
      } else {
        const done = this.#add(bytes, bytes.byteLength, { file: index, start: 0, length: bytes.byteLength, line: 0, id: null });
        if (done !== null) yield* done;
      }
      await this.#pacer.tick();
    }
  }

  /** A whole file's bytes, or null when it was reported (too large,
   * unreadable). A regular file is read into one buffer of its size. */
  async #readWhole(file: ListedFile, index: number): Promise<Buffer | null> {
    const max = this.#options.maxDocumentBytes;
    const input = await this.#open(file, index);
    if (input === null) return null;
    try {
      if (input.plainSize !== null) {
        if (input.plainSize > max) {
          this.#tooLarge(file, undefined, input.plainSize, false);
          return null;
        }
        return await this.#collect(input, file, input.plainSize);
      }
      return await this.#collect(input, file, null);
    } catch (error) {
      this.#cannotRead(file, error);
      return null;
    } finally {
      input.destroy();
    }
  }

  /** All of an input, refused past --max-document-bytes. With a known size
   * the chunks go straight into one buffer (a file that grew meanwhile is
   * read as far as it was). */
  async #collect(input: OpenedInput, file: ListedFile, size: number | null): Promise<Buffer | null> {
    const max = this.#options.maxDocumentBytes;
    if (size !== null) {
      const out = Buffer.allocUnsafeSlow(size);
      let at = 0;
      for await (const chunk of input.chunks) {
        const take = Math.min(chunk.length, size - at);
        chunk.copy(out, at, 0, take);
        at += take;
        if (at === size) break;
      }
      return at === size ? out : out.subarray(0, at);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of input.chunks) {
      total += chunk.length;
      if (total > max) {
        this.#tooLarge(file, undefined, max, true);
        return null;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, total);
  }

  // ---- JSON Lines ----------------------------------------------------------

  async* #jsonLines(): AsyncGenerator<DocumentBatch> {
    const { files } = this.#options;
    for (let index = 0; index < files.length; index++) {
      const file = files[index]!;
      const input = await this.#open(file, index);
      if (input === null) {
        this.#progressBase += file.size ?? 0;
        continue;
      }
      try {
        yield* this.#linesOf(file, index, input);
      } catch (error) {
        if (!(error instanceof CorruptGzip) || this.#options.signal.aborted) throw error;
        const lines = this.linesRead;
        this.#options.onBadInput({
          file: file.display,
          reason: `corrupt gzip (${error.message})${lines > 0 ? ` after line ${lines}, whose documents are kept` : ''}`,
        });
      } finally {
        input.destroy();
      }
      this.#progressBase += file.size ?? input.bytesRead();
      this.#options.onProgress(this.#progressBase, this.#progressTotal);
    }
  }

  /**
   * The documents of one JSON Lines input, line by line as its chunks come:
   * a line is cut out of its chunk (or, when it spans chunks, gathered in
   * `carry`), and a line growing past --max-document-bytes is skipped to
   * its end without being kept. The first BINARY_PROBE bytes are looked at
   * (for a NUL) before any line is used; a leading byte order mark is not
   * part of the first line.
   */
  async* #linesOf(file: ListedFile, index: number, input: OpenedInput): AsyncGenerator<DocumentBatch> {
    const max = this.#options.maxDocumentBytes;
    let position = 0; // offset in the input of the current chunk
    let lineStart = 0;
    let line = 1;
    let carry: Buffer[] = [];
    let carried = 0;
    let oversized = false;
    let first = true;
    this.linesRead = 0;
    for await (let chunk of withHead(input.chunks, BINARY_PROBE)) {
      if (first) {
        first = false;
        if (isBinary(chunk)) {
          this.#options.onBadInput({ file: file.display, reason: 'binary file (a NUL byte in the first 8 KiB)' });
          return;
        }
        if (chunk.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) {
          chunk = chunk.subarray(UTF8_BOM.length);
          position = lineStart = UTF8_BOM.length;
        }
      }
      let at = 0;
      while (at < chunk.length) {
        const newline = chunk.indexOf(NEWLINE, at);
        const end = newline < 0 ? chunk.length : newline;
        if (!oversized && carried + (end - at) > max) {
          oversized = true;
          carry = [];
        }
        if (oversized) {
          carried += end - at;
        } else if (newline >= 0 && carried === 0) {
          const done = this.#line(file, index, chunk.subarray(at, end), lineStart, line);
          if (done !== null) yield* done;
        } else {
          // A piece of a line that goes on in the next chunk (copied: the
          // chunk itself is not kept), or its last piece.
          carry.push(newline < 0 ? Buffer.from(chunk.subarray(at, end)) : chunk.subarray(at, end));
          carried += end - at;
          const done = newline >= 0 ? this.#line(file, index, Buffer.concat(carry, carried), lineStart, line) : null;
          if (done !== null) yield* done;
        }
        if (newline < 0) break;
        if (oversized) this.#tooLarge(file, line, carried, false);
        this.linesRead = line;
        at = newline + 1;
        lineStart = position + at;
        line++;
        carry = [];
        carried = 0;
        oversized = false;
      }
      position += chunk.length;
      this.#options.onProgress(this.#progressBase + input.bytesRead(), this.#progressTotal);
      await this.#pacer.tick();
    }
    // The last line, without a newline.
    if (oversized) this.#tooLarge(file, line, carried, false);
    else if (carried > 0) {
      const done = this.#line(file, index, Buffer.concat(carry, carried), lineStart, line);
      if (done !== null) yield* done;
    }
    if (carried > 0) this.linesRead = line;
  }

  /** One JSON line's document, if it is one (see parseJsonLine), added as
   * #add adds it. */
  #line(file: ListedFile, index: number, bytes: Buffer, start: number, line: number): DocumentBatch[] | null {
    const parsed = parseJsonLine(bytes, { file: file.display, line }, this.#options);
    if (parsed === null) return null;
    return this.#add(parsed.text, 3 * parsed.text.length,
      { file: index, start, length: bytes.length, line, id: parsed.id });
  }
}

/** The chunks of `chunks`, the first one made at least `bytes` long (or
 * all there is), so that it can be judged before anything is used. */
async function* withHead(chunks: AsyncGenerator<Buffer>, bytes: number): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    if (length >= bytes) {
      yield chunk;
      continue;
    }
    head.push(chunk);
    length += chunk.length;
    if (length >= bytes) yield Buffer.concat(head, length);
  }
  if (length < bytes) yield Buffer.concat(head, length);
}

/**
 * A JSON line's text and id: a non-blank line must be a JSON object whose
 * --text-field is a string (not blank), and whose --id-field, when asked
 * for, is a string or a number; otherwise it is reported and null is
 * returned. A blank line is no document and is not reported.
 */
export function parseJsonLine(bytes: Buffer, place: { readonly file: string; readonly line: number },
                              options: Pick<StreamOptions, 'textField' | 'idField' | 'onBadInput'>):
  { text: string; id: string | null } | null {
  const raw = bytes.toString('utf8');
  if (isBlankString(raw)) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    options.onBadInput({ ...place, reason: `invalid JSON (${error instanceof Error ? error.message : String(error)})` });
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
  let id: string | null = null;
  if (options.idField !== null) {
    const value = record[options.idField];
    if (typeof value !== 'string' && typeof value !== 'number') {
      options.onBadInput({
        ...place,
        reason: value === undefined ? `missing id field "${options.idField}"`
          : `id field "${options.idField}" is not a string or a number`,
      });
      return null;
    }
    id = String(value);
  }
  if (isBlankString(text)) {
    options.onBadInput({ ...place, reason: 'empty document' });
    return null;
  }
  return { text, id };
}

/**
 * Runs `consume` on each item of `items`, with the next item being produced
 * meanwhile: the producer is at most one item ahead of the consumer
 * (backpressure), and both overlap (reading and parsing on this thread
 * while the native library hashes on its threads).
 */
export async function readAhead<T>(items: AsyncGenerator<T>, consume: (item: T) => Promise<void>): Promise<void> {
  let next = items.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done === true) return;
      next = items.next();
      // A rejection of the read-ahead is seen when it is awaited.
      next.catch(() => { /* awaited above, next turn */ });
      await consume(result.value);
    }
  } finally {
    await items.return(undefined).catch(() => { /* already failed */ });
  }
}

// ---------------------------------------------------------------------------
// What is kept of each document once hashed
// ---------------------------------------------------------------------------

/** Bytes kept per document by DocumentTable (its typed arrays), not
 * counting --id-field values. */
export const PLACE_BYTES = 4 + 8 + 8 + 4;
/** Documents per chunk of the table's columns. */
const CHUNK_SHIFT = 16;
const CHUNK = 1 << CHUNK_SHIFT;

/** One chunk of the table: CHUNK places. */
interface PlaceChunk {
  readonly file: Uint32Array;
  readonly start: Float64Array;
  readonly length: Float64Array;
  readonly line: Uint32Array;
}

/**
 * The places of every document read (see DocumentBatch), in columns of
 * fixed chunks of CHUNK documents (so the table never holds a doubled
 * copy while it grows): PLACE_BYTES per document, plus the --id-field
 * values. Document i's name, text and similarity all come from here
 * afterwards.
 */
export class DocumentTable {
  count = 0;
  readonly #chunks: PlaceChunk[] = [];
  readonly #ids: string[] | null;

  constructor(withIds: boolean) {
    this.#ids = withIds ? [] : null;
  }

  append(batch: DocumentBatch): void {
    for (let i = 0; i < batch.count;) {
      const at = this.count & (CHUNK - 1);
      if (at === 0) {
        this.#chunks.push({
          file: new Uint32Array(CHUNK), start: new Float64Array(CHUNK), length: new Float64Array(CHUNK),
          line: new Uint32Array(CHUNK),
        });
      }
      const chunk = this.#chunks[this.#chunks.length - 1]!;
      const take = Math.min(batch.count - i, CHUNK - at);
      chunk.file.set(batch.file.subarray(i, i + take), at);
      chunk.start.set(batch.start.subarray(i, i + take), at);
      chunk.length.set(batch.length.subarray(i, i + take), at);
      chunk.line.set(batch.line.subarray(i, i + take), at);
      i += take;
      this.count += take;
    }
    if (this.#ids !== null) for (const id of batch.ids ?? []) this.#ids.push(id ?? '');
  }

  #chunk(i: number): PlaceChunk {
    return this.#chunks[i >>> CHUNK_SHIFT]!;
  }

  file(i: number): number { return this.#chunk(i).file[i & (CHUNK - 1)]!; }
  start(i: number): number { return this.#chunk(i).start[i & (CHUNK - 1)]!; }
  length(i: number): number { return this.#chunk(i).length[i & (CHUNK - 1)]!; }
  /** 1-based JSON line, 0 for a whole file. */
  line(i: number): number { return this.#chunk(i).line[i & (CHUNK - 1)]!; }
  id(i: number): string | null { return this.#ids?.[i] ?? null; }

  /** Bytes held (the columns' chunks; ids as UTF-16 plus a pointer). */
  get memoryBytes(): number {
    let ids = 0;
    if (this.#ids !== null) for (const id of this.#ids) ids += 2 * id.length + 24;
    return this.#chunks.length * CHUNK * PLACE_BYTES + ids;
  }
}

/** Document i's source (its name, file and line), as dedup names it. */
export function sourceOf(table: DocumentTable, files: readonly ListedFile[], i: number): DocumentSource {
  return placeSource(files[table.file(i)]!, table.line(i), table.id(i));
}

/** The source of a document of `file` at `line` (0: the whole file): named
 * by the --id-field value, else the file's path or `file:line`. */
export function placeSource(file: ListedFile, line: number, id: string | null): DocumentSource {
  if (line === 0) {
    return file.path === null ? { name: '<stdin>', file: '-' }
      : { name: file.display, nameBytes: strayPathBytes(file), file: file.display };
  }
  if (id !== null) return { name: id, file: file.display, line };
  const stray = strayPathBytes(file);
  return {
    name: placeOf({ file: file.display, line }), file: file.display, line,
    nameBytes: stray === undefined ? undefined : Buffer.concat([stray, Buffer.from(`:${line}`)]),
  };
}
