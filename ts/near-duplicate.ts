/**
 * Documents and keys in, near-duplicates out: the document-level index.
 *
 *   const seen = new NearDuplicateIndex({ threshold: 0.8 });
 *   for (const page of pages) {
 *     const r = seen.addIfNew(page.url, page.text);
 *     if (!r.added) console.log(`${page.url} repeats ${r.duplicateOf} (${r.similarity})`);
 *   }
 *
 * Built on MinHashLSHIndex and the signature functions: each document
 * becomes a signature (MinHash of its shingles), the index finds the
 * documents that share a band with it, and these candidates are verified:
 * with `verify: 'exact'` (the default) by the exact Jaccard similarity of
 * the shingle sets, which the index keeps (8 bytes per distinct shingle of
 * each document, about 8 bytes per word for word shingles), with
 * `verify: 'estimate'` by the fraction of equal signature values (the
 * index then keeps the signatures: 4 bytes x numHashes per document).
 *
 * Keys are strings or numbers chosen by the caller, unique in the index
 * (1 and '1' are different keys). Rows deleted with delete() leave every
 * answer at once; their memory stays until the index is rebuilt.
 */
import { type ProgressOptions, countOf, describe } from './async-call.ts';
import { KnowhereError, Status, invalidArgument } from './errors.ts';
import { type BuildShape, MinHashLSHIndex, searchInto, type PathLike } from './minhash-lsh.ts';
import { type NativeSignatureOptions } from './native.ts';
import {
  ShingleSetStore, shingleSetOf, shingleSetsOfPackedAsync, signatureAndShingleSetOf,
} from './shingle-similarity.ts';
import {
  type SignatureOptions, documentBytes, nativeOptionsOf, packDocuments, signaturesFromTexts,
  signatureInto, signaturesFromTextsAsync, transientDocumentBytes,
} from './signature.ts';
import { chooseBands } from './threshold.ts';

/** A document's key: a string or a finite number, chosen by the caller. */
export type DocumentKey = string | number;

/** What a shingle is: `size` consecutive words or characters. */
export interface ShingleOptions {
  /** Default 'word'. */
  readonly kind?: 'word' | 'char' | undefined;
  /** Default 3 (the library's default, for both kinds); 1..64. */
  readonly size?: number | undefined;
}

/** NearDuplicateIndex's options. Every one has a default. */
export interface NearDuplicateIndexOptions {
  /** The Jaccard similarity from which documents are near-duplicates, in
   * (0, 1]. Default 0.8. The bands are chosen for it. */
  readonly threshold?: number | undefined;
  readonly shingle?: ShingleOptions | undefined;
  /** Values per signature, 1..65536. Default 128. */
  readonly numHashes?: number | undefined;
  /** 'exact' (default): similarities are the exact Jaccard similarity of
   * the shingle sets, kept by the index (8 bytes per distinct shingle).
   * 'estimate': the fraction of equal signature values (4 x numHashes
   * bytes per document, a standard error of about
   * sqrt(J(1-J)/numHashes)). */
  readonly verify?: 'exact' | 'estimate' | undefined;
  /** With verify 'estimate': keep b-bit codes of the signature values
   * instead of the values, 8 or 16 (b-bit MinHash: numHashes x b / 8 bytes
   * per document instead of 4 x numHashes; the similarity is the fraction
   * of equal codes corrected for those equal by chance, a little noisier).
   * Default 0: the values. */
  readonly rawBits?: 0 | 8 | 16 | undefined;
  /** Bands of the index, 1..numHashes. Default: the fewest that find a
   * pair at the threshold with probability 0.95 (chooseBands). */
  readonly bands?: number | undefined;
  /** Skip lower-casing. Default false. */
  readonly keepCase?: boolean | undefined;
  /** The hash seed. Default 0. */
  readonly seed?: number | bigint | undefined;
}

/** The options an index runs with, every default filled in. */
export interface ResolvedNearDuplicateOptions {
  readonly threshold: number;
  readonly shingle: { readonly kind: 'word' | 'char'; readonly size: number };
  readonly numHashes: number;
  readonly verify: 'exact' | 'estimate';
  readonly rawBits: 0 | 8 | 16;
  readonly bands: number;
  readonly keepCase: boolean;
  readonly seed: bigint;
}

/** A document found by a query. */
export interface NearDuplicateMatch {
  readonly key: DocumentKey;
  /** Exact Jaccard similarity (verify 'exact') or its estimate. */
  readonly similarity: number;
}

/** query's and addIfNew's options. */
export interface NearDuplicateQueryOptions {
  /** Report documents at least this similar. Default: the index's
   * threshold. Below it, pairs are found less often (the bands were chosen
   * for the index's threshold). */
  readonly threshold?: number | undefined;
  /** At most this many matches, the most similar first. Default: all. */
  readonly limit?: number | undefined;
}

/** What addIfNew did. */
export type AddIfNewResult =
  | { readonly added: true; readonly key: DocumentKey }
  | { readonly added: false; readonly key: DocumentKey; readonly duplicateOf: DocumentKey;
      readonly similarity: number };

/** addManyAsync's options. */
export interface NearDuplicateAddOptions extends ProgressOptions {
  /** Threads for hashing; 0 (default) is one per core. */
  readonly threads?: number | undefined;
}

/** queryManyAsync's options. */
export interface NearDuplicateQueryManyOptions extends NearDuplicateQueryOptions, NearDuplicateAddOptions {}

/** addIfNewAsync's options. */
export interface NearDuplicateAddIfNewOptions extends NearDuplicateQueryOptions {
  readonly signal?: AbortSignal | undefined;
}

const DEFAULTS = { threshold: 0.8, numHashes: 128, verify: 'exact', kind: 'word', size: 3 } as const;

/** Candidates a single query asks for first (see #matches). */
const FIRST_CANDIDATES = 32;

/** The app-data layout (docs/format.md, "application data"): MAGIC, a u32
 * JSON length, the JSON (format, options, keys by row, null when deleted),
 * then with verify 'exact' a u32 count per row and the sets' u64 hashes,
 * all little-endian. */
const MAGIC = Uint8Array.from([0x4b, 0x48, 0x4e, 0x44, 0x49, 0, 0, 1]); // "KHNDI" 0 0 1
const APP_FORMAT = 1;

function optionError(option: string, message: string): KnowhereError {
  return invalidArgument(`NearDuplicateIndex option ${option}: ${message}`);
}

function resolveOptions(options: NearDuplicateIndexOptions | undefined): ResolvedNearDuplicateOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalidArgument(`NearDuplicateIndex options must be an object, got ${describe(options)}`);
  }
  const o = options ?? {};
  const known = new Set(['threshold', 'shingle', 'numHashes', 'verify', 'rawBits', 'bands', 'keepCase', 'seed']);
  for (const name of Object.keys(o)) if (!known.has(name)) throw optionError(name, 'unknown option');
  const threshold = o.threshold ?? DEFAULTS.threshold;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
    throw optionError('threshold', `must be a number in (0, 1], got ${describe(threshold)}`);
  }
  const numHashes = o.numHashes ?? DEFAULTS.numHashes;
  if (!Number.isInteger(numHashes) || numHashes < 1 || numHashes > 65536) {
    throw optionError('numHashes', `must be an integer in 1..65536, got ${describe(numHashes)}`);
  }
  const verify = o.verify ?? DEFAULTS.verify;
  if (verify !== 'exact' && verify !== 'estimate') {
    throw optionError('verify', `must be 'exact' or 'estimate', got ${describe(verify)}`);
  }
  const rawBits = o.rawBits ?? 0;
  if (rawBits !== 0 && rawBits !== 8 && rawBits !== 16) {
    throw optionError('rawBits', `must be 0, 8 or 16, got ${describe(rawBits)}`);
  }
  if (rawBits !== 0 && verify !== 'estimate') {
    throw optionError('rawBits', `codes rank by the estimate: it needs verify 'estimate' (verify is '${verify}')`);
  }
  const shingle = o.shingle ?? {};
  if (typeof shingle !== 'object' || shingle === null) {
    throw optionError('shingle', `must be an object { kind, size }, got ${describe(shingle)}`);
  }
  const kind = shingle.kind ?? DEFAULTS.kind;
  if (kind !== 'word' && kind !== 'char') throw optionError('shingle.kind', `must be 'word' or 'char', got ${describe(kind)}`);
  const size = shingle.size ?? DEFAULTS.size;
  if (!Number.isInteger(size) || size < 1 || size > 64) {
    throw optionError('shingle.size', `must be an integer in 1..64, got ${describe(size)}`);
  }
  const keepCase = o.keepCase ?? false;
  if (typeof keepCase !== 'boolean') throw optionError('keepCase', `must be a boolean, got ${describe(keepCase)}`);
  const seedValue = o.seed ?? 0;
  let seed: bigint;
  if (typeof seedValue === 'bigint') seed = seedValue;
  else if (Number.isSafeInteger(seedValue) && seedValue >= 0) seed = BigInt(seedValue);
  else throw optionError('seed', `must be a non-negative integer or bigint, got ${describe(seedValue)}`);
  if (seed < 0n || seed >= 2n ** 64n) throw optionError('seed', 'must fit in 64 bits');
  let bands = o.bands;
  if (bands === undefined) bands = chooseBands(numHashes, threshold, 0.95).bands;
  else if (!Number.isInteger(bands) || bands < 1 || bands > numHashes) {
    throw optionError('bands', `must be an integer in 1..numHashes (${numHashes}), got ${describe(bands)}`);
  }
  return { threshold, shingle: { kind, size }, numHashes, verify, rawBits, bands, keepCase, seed };
}

function keyOf(key: unknown): DocumentKey {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' && Number.isFinite(key)) return Object.is(key, -0) ? 0 : key;
  throw invalidArgument(`a key must be a string or a finite number, got ${describe(key)}`);
}

function queryThresholdOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw invalidArgument(`query option threshold must be a number in [0, 1], got ${describe(value)}`);
  }
  return value;
}

function limitOf(value: unknown): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  return countOf(value, 'limit');
}

/** A query's verified matches, most similar first, ties in insertion order. */
interface Candidate {
  readonly row: number;
  readonly similarity: number;
}

/**
 * An index of documents by key that answers "which documents are like this
 * one?" and does the online job: addIfNew adds a document unless the index
 * holds a near-duplicate of it. See the module comment.
 *
 * Sync methods run on this thread in microseconds per document; the async
 * ones hash on the thread pool and hold the index while they change or
 * read it: a sync call made meanwhile is KnowhereError BUSY, async calls
 * wait their turn. Close it (or `using`) to free the native memory at once.
 */
export class NearDuplicateIndex implements Disposable {
  readonly #options: ResolvedNearDuplicateOptions;
  readonly #signatureOptions: SignatureOptions & { readonly valueBytes: 4 };
  readonly #native: NativeSignatureOptions;
  #index: MinHashLSHIndex | null = null;
  /** By row: the key, or undefined once deleted. */
  readonly #keys: (DocumentKey | undefined)[] = [];
  readonly #rows = new Map<DocumentKey, number>();
  /** By row, with verify 'exact': the shingle set. */
  readonly #sets = new ShingleSetStore();
  /** #hash's signature. */
  readonly #signature: Uint32Array;
  /** #matches's first candidates (reused: a search then allocates nothing). */
  readonly #candidateIds = new BigInt64Array(FIRST_CANDIDATES);
  readonly #candidateDistances = new Float32Array(FIRST_CANDIDATES);
  /** The async operation holding the index, as a chain to wait on. */
  #tail: Promise<void> = Promise.resolve();
  /** Async operations started and not finished (hashing included). */
  #pending = 0;
  #closed = false;

  constructor(options?: NearDuplicateIndexOptions) {
    this.#options = resolveOptions(options);
    const o = this.#options;
    this.#signatureOptions = {
      numHashes: o.numHashes, shingle: o.shingle.kind === 'word' ? 'words' : 'chars', shingleSize: o.shingle.size,
      valueBytes: 4, keepCase: o.keepCase, seed: o.seed,
    };
    // Frozen: the binding packs a frozen options object once, not per call.
    this.#native = Object.freeze(nativeOptionsOf(this.#signatureOptions));
    this.#signature = new Uint32Array(o.numHashes);
  }

  /** The options in use, defaults filled in. */
  get options(): ResolvedNearDuplicateOptions {
    return this.#options;
  }

  /** Documents in the index (deleted ones not counted). */
  get size(): number {
    return this.#rows.size;
  }

  /** Bytes of native memory (the index) plus the kept shingle sets. */
  get memoryUsage(): number {
    let bytes = this.#index?.memoryUsage ?? 0;
    if (this.#exact) bytes += this.#sets.bytes;
    return bytes;
  }

  /** Whether a document with this key is in the index. */
  has(key: DocumentKey): boolean {
    return this.#rows.has(keyOf(key));
  }

  /** Adds a document under a new key (an existing key is INVALID_ARG). */
  add(key: DocumentKey, text: string | Uint8Array): void {
    this.#idle('add');
    const k = this.#newKey(key);
    const { signature, set } = this.#hash(transientDocumentBytes(text, 'text'));
    this.#insert([k], signature, set === null ? null : [set]);
  }

  /** Adds documents given as [key, text] pairs (keys new and distinct):
   * hashed on the library's threads, added in one call. */
  addMany(entries: Iterable<readonly [DocumentKey, string | Uint8Array]>): void {
    this.#idle('addMany');
    const { keys, texts } = this.#newEntries(entries);
    if (keys.length === 0) return;
    const batch = signaturesFromTexts(texts, this.#signatureOptions);
    const sets = this.#exact ? texts.map((text) => shingleSetOf(documentBytes(text, 'text'), this.#native)) : null;
    this.#insert(keys, batch.values, sets);
  }

  /** The documents at least `threshold` similar to `text`, most similar
   * first (ties: the one added first). */
  query(text: string | Uint8Array, options: NearDuplicateQueryOptions = {}): NearDuplicateMatch[] {
    this.#idle('query');
    const threshold = queryThresholdOf(options.threshold, this.#options.threshold);
    const limit = limitOf(options.limit);
    const bytes = transientDocumentBytes(text, 'text');
    signatureInto(bytes, this.#native, this.#signature);
    const found = this.#matches(this.#signature, bytes, threshold, limit);
    return found.map((c) => ({ key: this.#keys[c.row] as DocumentKey, similarity: c.similarity }));
  }

  /**
   * The online operation: if the index holds a document at least
   * `threshold` similar to `text` (default: the index's), answers which
   * (the most similar) and adds nothing; otherwise adds `text` under `key`.
   * Atomic: between the question and the add no other call on this index
   * runs, so two near-identical documents are never both added.
   */
  addIfNew(key: DocumentKey, text: string | Uint8Array, options: NearDuplicateQueryOptions = {}): AddIfNewResult {
    this.#idle('addIfNew');
    return this.#addIfNew(this.#newKey(key), transientDocumentBytes(text, 'text'), options);
  }

  /** Removes a document; false if the key is not in the index. */
  delete(key: DocumentKey): boolean {
    this.#idle('delete');
    const k = keyOf(key);
    const row = this.#rows.get(k);
    if (row === undefined) return false;
    this.#index?.remove([row]);
    this.#rows.delete(k);
    this.#keys[row] = undefined;
    if (this.#exact) this.#sets.clear(row);
    return true;
  }

  /** addMany with the hashing on the thread pool, cancellable with
   * `signal` / `interrupt`, progress in phases 'sign' then 'build' or
   * 'add'. On any failure the index is as it was. */
  addManyAsync(entries: Iterable<readonly [DocumentKey, string | Uint8Array]>,
               options: NearDuplicateAddOptions = {}): Promise<void> {
    this.#live();
    const { keys, texts } = this.#newEntries(entries);
    return this.#running(async () => {
      if (keys.length === 0) return;
      const packed = packDocuments(texts); // a copy: the caller may change the texts meanwhile
      const views = Array.from({ length: packed.ndocs }, (_, i) =>
        packed.texts.subarray(Number(packed.offsets[i]), Number(packed.offsets[i + 1])));
      const batch = await signaturesFromTextsAsync(views, { ...this.#signatureOptions, ...asyncPart(options) });
      const sets = this.#exact
        ? await shingleSetsOfPackedAsync(packed, batch.shingleCounts, this.#native, asyncPart(options))
        : null;
      await this.#exclusive(async () => {
        for (const key of keys) if (this.#rows.has(key)) throw duplicateKey(key);
        await this.#insertAsync(keys, batch.values, sets, options);
      });
    });
  }

  /** query for many texts: hashing and searching on the thread pool;
   * element i answers texts[i]. */
  queryManyAsync(texts: readonly (string | Uint8Array)[],
                 options: NearDuplicateQueryManyOptions = {}): Promise<NearDuplicateMatch[][]> {
    this.#live();
    if (!Array.isArray(texts)) throw invalidArgument(`texts must be an array, got ${describe(texts)}`);
    const threshold = queryThresholdOf(options.threshold, this.#options.threshold);
    const limit = limitOf(options.limit);
    // The texts are packed (copied) now: the caller may change them meanwhile.
    const packed = packDocuments(texts);
    const textOf = (q: number): Uint8Array =>
      packed.texts.subarray(Number(packed.offsets[q]), Number(packed.offsets[q + 1]));
    return this.#running(async () => {
      if (texts.length === 0) return [];
      const batch = await signaturesFromTextsAsync(
        Array.from({ length: packed.ndocs }, (_, q) => textOf(q)), { ...this.#signatureOptions, ...asyncPart(options) });
      return this.#exclusive(async () => {
      const index = this.#index;
      if (index === null) return texts.map(() => []);
      const range = await index.rangeSearchAsync(batch.values, texts.length, this.#exact ? 0 : threshold,
        asyncPart(options));
      const answers: NearDuplicateMatch[][] = [];
      for (let q = 0; q < texts.length; q++) {
        const { ids, distances } = range.row(q);
        const found = this.#verify(ids, distances, () => shingleSetOf(textOf(q), this.#native), threshold, limit);
        answers.push(found.map((c) => ({ key: this.#keys[c.row] as DocumentKey, similarity: c.similarity })));
      }
      return answers;
      });
    });
  }

  /** addIfNew that waits for the async operations before it: concurrent
   * calls are answered one at a time, in call order, so of near-identical
   * documents racing through it exactly one is added. */
  addIfNewAsync(key: DocumentKey, text: string | Uint8Array,
                options: NearDuplicateAddIfNewOptions = {}): Promise<AddIfNewResult> {
    this.#live();
    const k = keyOf(key);
    // A copy: the caller may change or detach the array before our turn comes.
    const bytes = typeof text === 'string' ? documentBytes(text, 'text') : documentBytes(text, 'text').slice();
    return this.#running(() => this.#exclusive(async () => {
      options.signal?.throwIfAborted();
      if (this.#rows.has(k)) throw duplicateKey(k);
      return this.#addIfNew(k, bytes, options);
    }));
  }

  // ---- persistence ---------------------------------------------------------------

  /** Saves the index, its keys and options in one file (the index's
   * format, with the keys as its application data). */
  save(path: PathLike): void {
    this.#idle('save');
    this.#packedIndex().save(path);
  }

  /** save on the thread pool (waits for the async operations before it). */
  saveAsync(path: PathLike, options: ProgressOptions = {}): Promise<void> {
    return this.#running(() => this.#exclusive(() => this.#packedIndex().saveAsync(path, options)));
  }

  /** The bytes save writes. */
  serialize(): Uint8Array {
    this.#idle('serialize');
    return this.#packedIndex().serialize();
  }

  /** An index saved by save (KnowhereError CORRUPT for a file without a
   * key table, e.g. a plain MinHashLSHIndex's). */
  static load(path: PathLike): NearDuplicateIndex {
    return NearDuplicateIndex.#fromIndex(MinHashLSHIndex.load(path));
  }

  /** load on the thread pool. */
  static async loadAsync(path: PathLike, options: ProgressOptions = {}): Promise<NearDuplicateIndex> {
    return NearDuplicateIndex.#fromIndex(await MinHashLSHIndex.loadAsync(path, options));
  }

  /** An index from the bytes serialize gave. */
  static deserialize(bytes: Uint8Array): NearDuplicateIndex {
    return NearDuplicateIndex.#fromIndex(MinHashLSHIndex.deserialize(bytes));
  }

  /** Frees the native index; later calls throw. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.#pending > 0) {
      throw new KnowhereError(Status.BUSY, 'NearDuplicateIndex is busy: an async operation is running; await it first');
    }
    this.#closed = true;
    this.#index?.close();
    this.#index = null;
    this.#rows.clear();
    this.#keys.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- internals ----------------------------------------------------------------

  get #exact(): boolean {
    return this.#options.verify === 'exact';
  }

  #live(): void {
    if (this.#closed) throw invalidArgument('NearDuplicateIndex is closed');
  }

  /** Sync calls run only while no async operation is running. */
  #idle(what: string): void {
    this.#live();
    if (this.#pending > 0) {
      throw new KnowhereError(Status.BUSY,
        `NearDuplicateIndex.${what}: an async operation holds the index; await it first`);
    }
  }

  /** Counts an async operation as running until `work` settles. */
  async #running<T>(work: () => Promise<T>): Promise<T> {
    this.#live();
    this.#pending++;
    try {
      return await work();
    } finally {
      this.#pending--;
    }
  }

  /** Runs `body` when every async operation before it has finished with
   * the index. */
  #exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      this.#live();
      return body();
    });
    this.#tail = run.then(() => undefined, () => undefined);
    return run;
  }

  #newKey(key: unknown): DocumentKey {
    const k = keyOf(key);
    if (this.#rows.has(k)) throw duplicateKey(k);
    return k;
  }

  #newEntries(entries: Iterable<readonly [DocumentKey, string | Uint8Array]>): {
    keys: DocumentKey[]; texts: (string | Uint8Array)[];
  } {
    if (entries === null || typeof entries !== 'object' || !(Symbol.iterator in entries)) {
      throw invalidArgument(`entries must be an iterable of [key, text] pairs, got ${describe(entries)}`);
    }
    const keys: DocumentKey[] = [];
    const texts: (string | Uint8Array)[] = [];
    const seen = new Set<DocumentKey>();
    let i = 0;
    for (const entry of entries) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw invalidArgument(`entries[${i}] must be a [key, text] pair, got ${describe(entry)}`);
      }
      const key = this.#newKey(entry[0]);
      if (seen.has(key)) throw invalidArgument(`entries[${i}]: key ${JSON.stringify(key)} appears twice`);
      seen.add(key);
      const text: unknown = entry[1];
      if (typeof text !== 'string' && !(text instanceof Uint8Array)) {
        throw invalidArgument(`entries[${i}]: the text must be a string or a Uint8Array, got ${describe(text)}`);
      }
      keys.push(key);
      texts.push(text);
      i++;
    }
    return { keys, texts };
  }

  #addIfNew(key: DocumentKey, bytes: Uint8Array, options: NearDuplicateQueryOptions): AddIfNewResult {
    const threshold = queryThresholdOf(options.threshold, this.#options.threshold);
    const { signature, set } = this.#hash(bytes);
    const found = this.#matches(signature, bytes, threshold, 1, set ?? undefined);
    const best = found[0];
    if (best !== undefined) {
      return { added: false, key, duplicateOf: this.#keys[best.row] as DocumentKey, similarity: best.similarity };
    }
    this.#insert([key], signature, set === null ? null : [set]);
    return { added: true, key };
  }

  /** A document's signature and, with verify 'exact', its shingle set
   * (one pass over the text). Both are reused buffers, valid until the
   * next #hash: the sync body that hashes a document also searches with it
   * and inserts it (the index and the store copy what they keep). */
  #hash(bytes: Uint8Array): { signature: Uint32Array; set: BigUint64Array | null } {
    if (this.#exact) {
      return { signature: this.#signature, set: signatureAndShingleSetOf(bytes, this.#native, this.#signature) };
    }
    signatureInto(bytes, this.#native, this.#signature);
    return { signature: this.#signature, set: null };
  }

  /** Verified matches of one signature; `known` is the query's shingle set
   * when the caller has it. Candidates come from a top-k search (cheaper
   * than a range search: no result object); only when it comes back full
   * (a hot bucket) does a range search fetch them all. */
  #matches(signature: Uint32Array, bytes: Uint8Array, threshold: number, limit: number,
           known?: BigUint64Array): Candidate[] {
    const index = this.#index;
    if (index === null) return [];
    const floor = this.#exact ? 0 : threshold;
    let ids: BigInt64Array = this.#candidateIds;
    let distances: Float32Array = this.#candidateDistances;
    searchInto(index, signature, FIRST_CANDIDATES, ids, distances);
    const last = ids.length - 1;
    if (ids[last] !== -1n && (distances[last] as number) >= floor) {
      ({ ids, distances } = index.rangeSearch(signature, 1, floor).row(0));
    }
    return this.#verify(ids, distances, () => known ?? shingleSetOf(bytes, this.#native), threshold, limit);
  }

  /** Candidates (range search ids, similarities) to verified matches. */
  #verify(ids: BigInt64Array, distances: Float32Array, querySet: () => BigUint64Array, threshold: number,
          limit: number): Candidate[] {
    const found: Candidate[] = [];
    if (ids.length === 0 || ids[0] === -1n) return found; // -1: no candidate (a top-k search's padding)
    if (this.#exact) {
      let n = 0;
      while (n < ids.length && ids[n] !== -1n) n++;
      const rows = ids.subarray(0, n);
      const similarities = this.#sets.similarities(querySet(), rows);
      for (let i = 0; i < n; i++) {
        const similarity = similarities[i] as number;
        if (similarity >= threshold) found.push({ row: Number(rows[i]), similarity });
      }
    } else {
      for (let i = 0; i < ids.length && ids[i] !== -1n; i++) {
        const similarity = distances[i] as number;
        if (similarity >= threshold) found.push({ row: Number(ids[i]), similarity });
      }
    }
    found.sort((a, b) => b.similarity - a.similarity || a.row - b.row);
    if (found.length > limit) found.length = limit;
    return found;
  }

  /** The index's shape: the signatures' values kept (or their codes) only
   * when they give the similarity (verify 'estimate'). */
  #shape(): BuildShape {
    const o = this.#options;
    return { mhVecLength: o.numHashes, elementSize: 4, bands: o.bands, withRawData: !this.#exact, rawBits: o.rawBits };
  }

  #insert(keys: readonly DocumentKey[], signatures: Uint32Array, sets: readonly BigUint64Array[] | null): void {
    if (this.#index === null) {
      const index = new MinHashLSHIndex();
      index.build(signatures, this.#shape());
      this.#index = index;
    } else {
      this.#index.add(signatures);
    }
    this.#record(keys, sets);
  }

  async #insertAsync(keys: readonly DocumentKey[], signatures: Uint32Array, sets: readonly BigUint64Array[] | null,
                     options: ProgressOptions): Promise<void> {
    const async = asyncPart(options);
    if (this.#index === null) {
      const index = new MinHashLSHIndex();
      try {
        await index.buildAsync(signatures, { ...this.#shape(), ...async });
      } catch (error) {
        index.close();
        throw error;
      }
      this.#index = index;
    } else {
      await this.#index.addAsync(signatures, async);
    }
    this.#record(keys, sets);
  }

  #record(keys: readonly DocumentKey[], sets: readonly BigUint64Array[] | null): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as DocumentKey;
      this.#rows.set(key, this.#keys.length);
      this.#keys.push(key);
      if (sets !== null) this.#sets.push(sets[i] as BigUint64Array);
    }
  }

  /** The native index with the key table stored as its application data. */
  #packedIndex(): MinHashLSHIndex {
    const index = this.#index;
    if (index === null) {
      throw new KnowhereError(Status.EMPTY_INDEX, 'NearDuplicateIndex is empty: add a document before saving');
    }
    index.setAppData(this.#encode());
    return index;
  }

  #encode(): Uint8Array {
    const o = this.#options;
    const json = new TextEncoder().encode(JSON.stringify({
      format: APP_FORMAT,
      options: { ...o, seed: o.seed.toString() },
      keys: this.#keys.map((key) => key ?? null),
    }));
    const rows = this.#keys.length;
    let hashes = 0;
    if (this.#exact) for (let row = 0; row < rows; row++) hashes += this.#sets.set(row).length;
    const setBytes = this.#exact ? 4 * rows + 8 * hashes : 0;
    const out = new Uint8Array(MAGIC.length + 4 + json.length + setBytes);
    const view = new DataView(out.buffer);
    out.set(MAGIC, 0);
    view.setUint32(MAGIC.length, json.length, true);
    out.set(json, MAGIC.length + 4);
    if (this.#exact) {
      let at = MAGIC.length + 4 + json.length;
      for (let row = 0; row < rows; row++, at += 4) view.setUint32(at, this.#sets.set(row).length, true);
      for (let row = 0; row < rows; row++) {
        for (const hash of this.#sets.set(row)) {
          view.setBigUint64(at, hash, true);
          at += 8;
        }
      }
    }
    return out;
  }

  static #fromIndex(index: MinHashLSHIndex): NearDuplicateIndex {
    try {
      const data = index.getAppData();
      const corrupt = (why: string): KnowhereError =>
        new KnowhereError(Status.CORRUPT, `not a NearDuplicateIndex file: ${why}`);
      if (data === null) throw corrupt('it holds no key table (a plain MinHashLSHIndex file: load it with MinHashLSHIndex.load)');
      if (data.length < MAGIC.length + 4 || !MAGIC.every((b, i) => data[i] === b)) throw corrupt('unknown application data');
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const jsonLength = view.getUint32(MAGIC.length, true);
      if (MAGIC.length + 4 + jsonLength > data.length) throw corrupt('truncated key table');
      const parsed = JSON.parse(new TextDecoder().decode(data.subarray(MAGIC.length + 4, MAGIC.length + 4 + jsonLength))) as {
        format?: unknown; options?: Record<string, unknown>; keys?: unknown;
      };
      if (parsed.format !== APP_FORMAT || typeof parsed.options !== 'object' || !Array.isArray(parsed.keys)) {
        throw corrupt('unknown key table format');
      }
      const o = parsed.options;
      const result = new NearDuplicateIndex({
        threshold: o['threshold'] as number, shingle: o['shingle'] as ShingleOptions, numHashes: o['numHashes'] as number,
        verify: o['verify'] as 'exact' | 'estimate', bands: o['bands'] as number, keepCase: o['keepCase'] as boolean,
        rawBits: (o['rawBits'] ?? 0) as 0 | 8 | 16, // files saved before codes have none
        seed: BigInt(o['seed'] as string),
      });
      const keys = parsed.keys as unknown[];
      if (keys.length !== index.count) throw corrupt(`${keys.length} keys for ${index.count} rows`);
      let at = MAGIC.length + 4 + jsonLength;
      const counts: number[] = [];
      if (result.#exact) {
        if (at + 4 * keys.length > data.length) throw corrupt('truncated shingle sets');
        for (let row = 0; row < keys.length; row++, at += 4) counts.push(view.getUint32(at, true));
      }
      for (let row = 0; row < keys.length; row++) {
        const key = keys[row];
        if (key !== null) {
          const k = keyOf(key);
          if (result.#rows.has(k)) throw corrupt(`key ${JSON.stringify(k)} appears twice`);
          result.#rows.set(k, row);
        }
        result.#keys.push(key === null ? undefined : key as DocumentKey);
        if (result.#exact) {
          const n = counts[row] as number;
          if (at + 8 * n > data.length) throw corrupt('truncated shingle sets');
          const set = new BigUint64Array(n);
          for (let i = 0; i < n; i++, at += 8) set[i] = view.getBigUint64(at, true);
          result.#sets.push(key === null ? new BigUint64Array(0) : set);
        }
      }
      if (at !== data.length) throw corrupt('trailing bytes after the key table');
      result.#index = index;
      return result;
    } catch (error) {
      index.close();
      if (error instanceof KnowhereError) throw error;
      throw new KnowhereError(Status.CORRUPT, `not a NearDuplicateIndex file: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function duplicateKey(key: DocumentKey): KnowhereError {
  return invalidArgument(`key ${JSON.stringify(key)} is already in the index`);
}

/** The parts of an async call's options the lower layers take. */
function asyncPart(options: NearDuplicateAddOptions): NearDuplicateAddOptions {
  const out: { signal?: AbortSignal; interrupt?: unknown; onProgress?: unknown; threads?: number } = {};
  if (options.signal !== undefined) out.signal = options.signal;
  if (options.interrupt !== undefined) out.interrupt = options.interrupt;
  if (options.onProgress !== undefined) out.onProgress = options.onProgress;
  if (options.threads !== undefined) out.threads = options.threads;
  return out as NearDuplicateAddOptions;
}
