/**
 * The documents of a `dedup` run once they are indexed: each one's source
 * (name, file, line) and, when verification needs them, the texts of some
 * of them. Files and standard input are a FileCorpus (places in a
 * DocumentTable, texts read again: ts/cli/reread.ts); the demo's mails,
 * already in memory, a MemoryCorpus.
 */
import type { PackedDocuments } from '../signature.ts';
import type { ListedFile } from './files.ts';
import type { DocumentSource, InputDocument } from './input.ts';
import { rereadTexts, type RereadTexts } from './reread.ts';
import { sourceOf, type DocumentBatch, type DocumentStream, type DocumentTable } from './stream.ts';

export interface Corpus {
  readonly count: number;
  source(i: number): DocumentSource;
  /** The texts of documents `ids` (any order), packed in ascending order
   * of id. */
  texts(ids: ArrayLike<number>, signal: AbortSignal, onProgress: (done: number, total: number) => void):
    Promise<RereadTexts>;
}

export interface FileCorpusOptions {
  readonly files: readonly ListedFile[];
  readonly table: DocumentTable;
  readonly stream: DocumentStream;
  readonly jsonl: boolean;
  readonly textField: string;
  readonly idField: string | null;
}

export class FileCorpus implements Corpus {
  readonly #options: FileCorpusOptions;

  constructor(options: FileCorpusOptions) {
    this.#options = options;
  }

  get count(): number {
    return this.#options.table.count;
  }

  source(i: number): DocumentSource {
    return sourceOf(this.#options.table, this.#options.files, i);
  }

  texts(ids: ArrayLike<number>, signal: AbortSignal, onProgress: (done: number, total: number) => void):
    Promise<RereadTexts> {
    const { files, table, stream, jsonl, textField, idField } = this.#options;
    return rereadTexts(ids, {
      files, states: stream.fileStates, spooled: stream.spooled, table, jsonl, textField, idField, signal, onProgress,
    });
  }
}

export class MemoryCorpus implements Corpus {
  readonly #documents: readonly InputDocument[];

  constructor(documents: readonly InputDocument[]) {
    this.#documents = documents;
  }

  get count(): number {
    return this.#documents.length;
  }

  source(i: number): DocumentSource {
    return this.#documents[i]!;
  }

  texts(ids: ArrayLike<number>): Promise<RereadTexts> {
    const sorted = Int32Array.from(new Set(Array.from(ids))).sort();
    const packed = pack(Array.from(sorted, (id) => this.#documents[id]!.text));
    return Promise.resolve({ ...packed, ids: sorted });
  }

  /** The documents as batches of at most `batchBytes` of text. */
  async* batches(batchBytes: number): AsyncGenerator<DocumentBatch> {
    for (let first = 0; first < this.#documents.length;) {
      let end = first;
      let bytes = 0;
      while (end < this.#documents.length && (end === first || bytes + this.#documents[end]!.text.byteLength <= batchBytes)) {
        bytes += this.#documents[end++]!.text.byteLength;
      }
      const count = end - first;
      const packed = pack(this.#documents.slice(first, end).map((d) => d.text));
      yield {
        count, texts: packed.texts as Buffer, offsets: packed.offsets, file: new Uint32Array(count),
        start: new Float64Array(count), length: new Float64Array(count), line: new Uint32Array(count), ids: null,
      };
      first = end;
    }
  }
}

/** Texts end to end, for the library's batch calls. */
export function pack(texts: readonly Uint8Array[]): PackedDocuments {
  let total = 0;
  for (const text of texts) total += text.byteLength;
  const buffer = Buffer.allocUnsafeSlow(total);
  const offsets = new BigUint64Array(texts.length + 1);
  let at = 0;
  texts.forEach((text, i) => {
    buffer.set(text, at);
    at += text.byteLength;
    offsets[i + 1] = BigInt(at);
  });
  return { texts: buffer, offsets, ndocs: texts.length };
}

/** The texts of a packed set as views (no copy), by position. */
export function views(packed: PackedDocuments): Uint8Array[] {
  return Array.from({ length: packed.ndocs }, (_, k) =>
    packed.texts.subarray(Number(packed.offsets[k]), Number(packed.offsets[k + 1])));
}
