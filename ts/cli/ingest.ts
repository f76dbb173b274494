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
import { DocumentTable, readAhead, type DocumentBatch } from './stream.ts';

export interface IngestOptions {
  readonly numHashes: number;
  readonly shingle: { readonly kind: 'words' | 'chars'; readonly size: number };
  readonly seed: bigint;
  readonly threads: number;
  readonly bands: BandChoice;
  readonly signal: AbortSignal;
  /** Documents whose signatures go to the index, in batches. */
  readonly batches: AsyncGenerator<DocumentBatch>;
  /** Called with each batch once it is hashed (its texts may be reused). */
  readonly release?: ((batch: DocumentBatch) => void) | undefined;
  /** With --id-field: the table keeps each document's id. */
  readonly withIds: boolean;
}

export interface Ingested {
  /** The index of every document's signature (null when none was read). */
  readonly index: MinHashLSHIndex | null;
  readonly table: DocumentTable;
  /** The time of the whole pass, and within it the time of hashing and of
   * indexing (ms): reading runs meanwhile, one batch ahead. */
  readonly totalMs: number;
  readonly hashMs: number;
  readonly indexMs: number;
}

/** Hashes and indexes every batch (see above). The caller closes the
 * index. */
export async function ingest(options: IngestOptions): Promise<Ingested> {
  const { signal } = options;
  const table = new DocumentTable(options.withIds);
  let index: MinHashLSHIndex | null = null;
  let hashMs = 0;
  let indexMs = 0;
  // The signatures of one batch at a time: the index copies them.
  let signatureBuffer: Uint8Array | undefined;
  const started = performance.now();
  try {
    await readAhead(options.batches, async (batch: DocumentBatch) => {
      let at = performance.now();
      const signatures = await signaturesOfPackedAsync(
        { texts: batch.texts, offsets: batch.offsets, ndocs: batch.count },
        { numHashes: options.numHashes, shingle: options.shingle.kind, shingleSize: options.shingle.size,
          seed: options.seed, threads: options.threads, signal }, signatureBuffer);
      signatureBuffer = new Uint8Array(signatures.values.buffer);
      options.release?.(batch);
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
  return { index, table, totalMs: performance.now() - started, hashMs, indexMs };
}
