/**
 * The streamed front of `knowhere-rs dedup` (docs/cli.md, "Corpora larger
 * than memory"): documents are read in bounded batches (ts/cli/stream.ts),
 * each batch hashed in place on the library's threads and its signatures
 * added to the LSH index (the first batch builds it), while the next batch
 * is read. After that a document is its place in the DocumentTable and its
 * row of the index: no text, and no signature outside the index. So the
 * memory of a run is the index (about 650 bytes per document at 128 hashes,
 * raw signatures kept) plus PLACE_BYTES per document, plus two batches.
 */
import { MinHashLSHIndex } from '../minhash-lsh.ts';
import { signaturesOfPackedAsync } from '../signature.ts';
import type { BandChoice } from '../threshold.ts';
import type { ListedFile } from './files.ts';
import type { BadInput } from './input.ts';
import type { PhaseReporter } from './progress.ts';
import { DocumentStream, DocumentTable, readAhead, type DocumentBatch } from './stream.ts';

export interface IngestOptions {
  readonly files: readonly ListedFile[];
  readonly jsonl: boolean;
  readonly textField: string;
  readonly idField: string | null;
  readonly maxDocumentBytes: number;
  readonly batchBytes: number;
  readonly numHashes: number;
  readonly shingle: { readonly kind: 'words' | 'chars'; readonly size: number };
  readonly seed: bigint;
  readonly threads: number;
  readonly bands: BandChoice;
  /** Keep copies of standard input and FIFOs for a second pass. */
  readonly spool: boolean;
  readonly signal: AbortSignal;
  readonly stdin: NodeJS.ReadableStream;
  readonly reporter: PhaseReporter;
  readonly onBadInput: (bad: BadInput) => void;
}

export interface Ingested {
  /** The index of every document's signature (null when none was read). */
  readonly index: MinHashLSHIndex | null;
  readonly table: DocumentTable;
  readonly stream: DocumentStream;
  /** Where the time went (ms): waiting for the reader (reading and
   * parsing on this thread, not overlapped), hashing, indexing. */
  readonly waitMs: number;
  readonly hashMs: number;
  readonly indexMs: number;
}

/** Reads, hashes and indexes every document (see above). The caller
 * closes the index. */
export async function ingest(options: IngestOptions): Promise<Ingested> {
  const { reporter, signal } = options;
  const stream = new DocumentStream({
    files: options.files, jsonl: options.jsonl, textField: options.textField, idField: options.idField,
    maxDocumentBytes: options.maxDocumentBytes, batchBytes: options.batchBytes, signal, stdin: options.stdin,
    onBadInput: options.onBadInput, onProgress: (done, total) => { reporter.update(done, total); },
    spool: options.spool,
  });
  const table = new DocumentTable(options.idField !== null);
  let index: MinHashLSHIndex | null = null;
  let hashMs = 0;
  let indexMs = 0;
  // The signatures of one batch at a time: the index copies them.
  let signatureBuffer: Uint8Array | undefined;
  const started = performance.now();
  try {
    await readAhead(stream.batches(), async (batch: DocumentBatch) => {
      let at = performance.now();
      const signatures = await signaturesOfPackedAsync(
        { texts: batch.texts, offsets: batch.offsets, ndocs: batch.count },
        { numHashes: options.numHashes, shingle: options.shingle.kind, shingleSize: options.shingle.size,
          seed: options.seed, threads: options.threads, signal }, signatureBuffer);
      signatureBuffer = new Uint8Array(signatures.values.buffer);
      stream.release(batch);
      hashMs += performance.now() - at;
      at = performance.now();
      if (index === null) {
        index = new MinHashLSHIndex();
        index.numThreads = options.threads;
        await index.buildAsync(signatures.values, options.numHashes, 4, options.bands.bands, true, { signal });
      } else {
        await index.addAsync(signatures.values, { signal });
      }
      indexMs += performance.now() - at;
      table.append(batch);
    });
  } catch (error) {
    (index as MinHashLSHIndex | null)?.close();
    throw error;
  }
  const waitMs = performance.now() - started - hashMs - indexMs;
  return { index, table, stream, waitMs, hashMs, indexMs };
}
