/**
 * What the readers of `knowhere-rs` share (the streaming reader is
 * ts/cli/stream.ts): a document's source and name, bad input and how it is
 * judged (a binary file: a NUL byte in its first 8 KiB; an empty document:
 * nothing but whitespace), and opening an input.
 *
 * Every file is opened non-blocking (O_NONBLOCK), so that opening a FIFO
 * never waits on a thread for a writer, and then judged by what it is
 * (fstat): a regular file is read on the thread pool; a FIFO is read
 * through the event loop (as a pipe), so --timeout, SIGTERM and Ctrl-C stop
 * the wait; anything else (a device, a socket) is refused. Files whose name
 * ends in `.gz` are decompressed as they are read (node:zlib).
 */
import fs from 'node:fs';

import type { ListedFile } from './files.ts';

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

/** A document held in memory with its text (the demo's mails). */
export interface InputDocument extends DocumentSource {
  /** UTF-8 text. */
  readonly text: Uint8Array;
}

export interface BadInput {
  readonly file: string;
  readonly line?: number | undefined;
  readonly reason: string;
}

/** "file" or "file:line", as messages name a place. */
export function placeOf(bad: { readonly file: string; readonly line?: number | undefined }): string {
  const file = bad.file === '-' ? '<stdin>' : bad.file;
  return bad.line === undefined ? file : `${file}:${bad.line}`;
}

/** Bytes of a file checked for NUL when deciding it is binary. */
export const BINARY_PROBE = 8192;
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
// Opening an input
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

export const close = (fd: number): void => { fs.close(fd, () => { /* nothing to do on failure */ }); };

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

/** The unit of reading progress: files, or bytes for JSON Lines. */
export function readingUnit(jsonl: boolean): string {
  return jsonl ? 'bytes' : 'files';
}
