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
import { signaturesOfPackedAsync, type SignatureOptions } from '../signature.ts';
import type { BandChoice } from '../threshold.ts';
import { DocumentTable, readAhead, type DocumentBatch } from './stream.ts';

export interface IngestOptions {
  /** How the signatures are made (4-byte values); recorded on the index. */
  readonly signature: SignatureOptions & { readonly valueBytes: 4 };
  readonly threads: number;
  readonly bands: BandChoice;
  readonly signal: AbortSignal;
  /** Documents whose signatures go to the index, in batches. */
  readonly batches: AsyncGenerator<DocumentBatch>;
  /** Called with each batch once it is hashed (its texts may be reused). */
  readonly release?: ((batch: DocumentBatch) => void) | undefined;
  /** With --id-field: the table keeps each document's id. */
  readonly withIds: boolean;
  /** The raw data the index keeps: full values (0) or b-bit codes (--raw-bits). */
  readonly rawBits: 0 | 8 | 16;
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

/** Signatures added to the index at a time: fewer, larger adds are faster
 * (10^6 documents: 2.2 s of adds in steps of 2^17, 4.0 s in steps of
 * 2^15), and 2^16 of them are 32 MiB at 128 hashes. */
const ADD_DOCUMENTS = 1 << 16;

/** Hashes and indexes every batch (see above). The caller closes the
 * index. */
export async function ingest(options: IngestOptions): Promise<Ingested> {
  const { signal } = options;
  const table = new DocumentTable(options.withIds);
  const numHashes = options.signature.numHashes ?? 128;
  let index: MinHashLSHIndex | null = null;
  let hashMs = 0;
  let indexMs = 0;
  // Signatures waiting to be added, ADD_DOCUMENTS at a time (the index copies them).
  const pending = new Uint32Array(ADD_DOCUMENTS * numHashes);
  let pendingRows = 0;
  const flush = async (): Promise<void> => {
    if (pendingRows === 0) return;
    const at = performance.now();
    const values = pending.subarray(0, pendingRows * numHashes);
    if (index === null) {
      index = new MinHashLSHIndex();
      index.numThreads = options.threads;
      // The index records how its signatures were made (a saved index
      // refuses queries made otherwise).
      index.setSignatureScheme(options.signature);
      await index.buildAsync(values, {
        mhVecLength: numHashes, elementSize: 4, bands: options.bands.bands, withRawData: true,
        rawBits: options.rawBits, signal,
      });
    } else {
      await index.addAsync(values, { signal });
    }
    pendingRows = 0;
    indexMs += performance.now() - at;
  };
  const started = performance.now();
  try {
    await readAhead(options.batches, async (batch: DocumentBatch) => {
      const at = performance.now();
      const signatures = await signaturesOfPackedAsync(
        { texts: batch.texts, offsets: batch.offsets, ndocs: batch.count },
        { ...options.signature, threads: options.threads, signal });
      options.release?.(batch);
      hashMs += performance.now() - at;
      for (let first = 0; first < batch.count;) {
        const take = Math.min(batch.count - first, ADD_DOCUMENTS - pendingRows);
        pending.set(signatures.values.subarray(first * numHashes, (first + take) * numHashes), pendingRows * numHashes);
        pendingRows += take;
        first += take;
        if (pendingRows === ADD_DOCUMENTS) await flush();
      }
      table.append(batch);
    });
    await flush();
    // The rows added since the last merge go into the band tables now, one
    // band at a time: the self-join and the clustering walk whole tables,
    // and would otherwise make a merged copy of all of them (at 10^7
    // documents that copy was the run's peak).
    const compacting = performance.now();
    await (index as MinHashLSHIndex | null)?.compactAsync({ signal });
    indexMs += performance.now() - compacting;
  } catch (error) {
    (index as MinHashLSHIndex | null)?.close();
    throw error;
  }
  return { index, table, totalMs: performance.now() - started, hashMs, indexMs };
}
