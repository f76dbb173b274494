/**
 * Reading the documents of `knowhere-rs dedup`: files, directories
 * (recursively, in sorted order), JSON Lines, standard input.
 *
 * Bad input is never silent: an unreadable file, a binary file (a NUL byte
 * in its first 8 KiB), an invalid JSON line, a line without the text field
 * (or whose text is not a string), a missing id field, and an empty
 * document (nothing but whitespace) are each reported through `onBadInput`
 * with the file and, for JSON Lines, the line number; the caller decides
 * whether that skips the document or ends the run (--strict). Blank lines
 * of a JSON Lines file are not documents and are skipped silently.
 */
import fs from 'node:fs';
import path from 'node:path';

import { Pacer } from './pacer.ts';

/** Where a document came from, and the name it is listed under. */
export interface DocumentSource {
  /** The name in the output and in --keep-first: the file's path, the
   * JSONL id-field value, or `file:line`. */
  readonly name: string;
  /** The file it was read from ('-' for standard input). */
  readonly file: string;
  /** Its line in a JSON Lines file (1-based). */
  readonly line?: number | undefined;
}

export interface InputDocument extends DocumentSource {
  /** UTF-8 text. */
  readonly text: Uint8Array;
}

export interface BadInput {
  readonly file: string;
  readonly line?: number | undefined;
  readonly reason: string;
}

export interface ReadOptions {
  readonly inputs: readonly string[];
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
const BINARY_PROBE = 8192;
/** Files read at the same time. */
const READ_CONCURRENCY = 16;

const decoder = new TextDecoder('utf-8');
const NOT_SPACE = /[^\p{White_Space}]/u;

function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_PROBE).includes(0);
}

/** Whether a text has nothing but Unicode White_Space (no shingle). */
function isBlankBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) continue;
    if (b < 0x80) return false;
    return !NOT_SPACE.test(decoder.decode(bytes));
  }
  return true;
}

function isBlankString(text: string): boolean {
  return !NOT_SPACE.test(text);
}

function reasonOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    const message = error instanceof Error ? error.message : String(error);
    // "ENOENT: no such file or directory, open 'x'" -> without the path.
    return `cannot read (${message.replace(/, \w+ '.*'$/, '')})`;
  }
  return `cannot read (${error instanceof Error ? error.message : String(error)})`;
}

// ---------------------------------------------------------------------------
// Listing files
// ---------------------------------------------------------------------------

/** Every regular file under `dir`, sorted, depth first. Symbolic links to
 * files are read; links to directories are not followed (no cycles). */
async function walk(dir: string, into: string[], options: ReadOptions): Promise<void> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (error) {
    options.onBadInput({ file: dir, reason: reasonOf(error) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    options.signal.throwIfAborted();
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(full, into, options);
    } else if (entry.isFile()) {
      into.push(full);
    } else if (entry.isSymbolicLink()) {
      try {
        if ((await fs.promises.stat(full)).isFile()) into.push(full);
      } catch (error) {
        options.onBadInput({ file: full, reason: reasonOf(error) });
      }
    }
  }
}

/** The files to read, in order; '-' stands for standard input. */
async function listInputs(options: ReadOptions): Promise<string[]> {
  const files: string[] = [];
  for (const input of options.inputs) {
    if (input === '-') {
      files.push('-');
      continue;
    }
    let stats: fs.Stats;
    try {
      stats = await fs.promises.stat(input);
    } catch (error) {
      options.onBadInput({ file: input, reason: reasonOf(error) });
      continue;
    }
    if (stats.isDirectory()) await walk(input, files, options);
    else files.push(input);
  }
  return files;
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/** All of a stream, or the signal's reason once it aborts. */
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

async function readInput(file: string, options: ReadOptions): Promise<Buffer | null> {
  try {
    return file === '-'
      ? await readStream(options.stdin, options.signal)
      : await fs.promises.readFile(file, { signal: options.signal });
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    options.onBadInput({ file, reason: reasonOf(error) });
    return null;
  }
}

/** Each file is one document. */
async function readPlainFiles(files: readonly string[], options: ReadOptions): Promise<InputDocument[]> {
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
        const name = file === '-' ? '<stdin>' : file;
        if (isBinary(bytes)) options.onBadInput({ file, reason: 'binary file (a NUL byte in the first 8 KiB)' });
        else if (isBlankBytes(bytes)) options.onBadInput({ file, reason: 'empty document' });
        else documents[reported] = { name, file, text: bytes };
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

/** Each non-blank line of each file is a JSON object with the text. */
async function readJsonLines(files: readonly string[], options: ReadOptions): Promise<InputDocument[]> {
  const sizes = await Promise.all(files.map(async (file) => {
    if (file === '-') return 0;
    try {
      return (await fs.promises.stat(file)).size;
    } catch {
      return 0;
    }
  }));
  // Standard input has no size: then the total is unknown.
  const total = files.includes('-') ? 0 : sizes.reduce((a, b) => a + b, 0);
  const documents: InputDocument[] = [];
  const pacer = new Pacer(options.signal);
  let base = 0;
  for (const file of files) {
    const bytes = await readInput(file, options);
    if (bytes === null) continue;
    if (isBinary(bytes)) {
      options.onBadInput({ file, reason: 'binary file (a NUL byte in the first 8 KiB)' });
      base += bytes.byteLength;
      continue;
    }
    const text = decoder.decode(bytes);
    let start = 0;
    for (let line = 1; start <= text.length; line++) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const raw = text.slice(start, end);
      start = end + 1;
      const document = parseLine(raw, file, line, options);
      if (document !== null) documents.push(document);
      if ((line & 255) === 0) {
        options.onProgress(base + Math.min(start, bytes.byteLength), total);
        await pacer.tick();
      }
    }
    base += bytes.byteLength;
    options.onProgress(base, total);
  }
  return documents;
}

function parseLine(raw: string, file: string, line: number, options: ReadOptions): InputDocument | null {
  if (isBlankString(raw)) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    options.onBadInput({ file, line, reason: `invalid JSON (${message})` });
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    options.onBadInput({ file, line, reason: 'not a JSON object' });
    return null;
  }
  const record = value as Record<string, unknown>;
  const text = record[options.textField];
  if (text === undefined) {
    options.onBadInput({ file, line, reason: `missing text field "${options.textField}"` });
    return null;
  }
  if (typeof text !== 'string') {
    options.onBadInput({ file, line, reason: `text field "${options.textField}" is not a string` });
    return null;
  }
  let name = `${file === '-' ? '<stdin>' : file}:${line}`;
  if (options.idField !== null) {
    const id = record[options.idField];
    if (typeof id !== 'string' && typeof id !== 'number') {
      options.onBadInput({
        file, line,
        reason: id === undefined ? `missing id field "${options.idField}"`
          : `id field "${options.idField}" is not a string or a number`,
      });
      return null;
    }
    name = String(id);
  }
  if (isBlankString(text)) {
    options.onBadInput({ file, line, reason: 'empty document' });
    return null;
  }
  return { name, file, line, text: Buffer.from(text, 'utf8') };
}

/** The unit of reading progress: files, or bytes for JSON Lines. */
export function readingUnit(jsonl: boolean): string {
  return jsonl ? 'bytes' : 'files';
}

/** The documents of every input, in order, bad ones reported and left out. */
export async function readDocuments(options: ReadOptions): Promise<InputDocument[]> {
  const files = await listInputs(options);
  options.signal.throwIfAborted();
  return options.jsonl ? readJsonLines(files, options) : readPlainFiles(files, options);
}
