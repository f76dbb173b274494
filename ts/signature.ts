/**
 * Signatures: MinHash of text and token sets (knowhere_signature_*).
 *
 * Documents become signatures laid out exactly as MinHashLSHIndex.build
 * takes them: `numHashes` values of `valueBytes` bytes each, a Uint32Array
 * (valueBytes 4, the default) or a BigUint64Array (valueBytes 8). A batch
 * is one array of every document's signature end to end:
 *
 *   const batch = await signaturesFromTextsAsync(texts, { signal });
 *   index.build(batch.values, batch.numHashes, batch.valueBytes, bands, true);
 *
 * The definition (normalisation, shingles, hashing) is the library's
 * (docs/signatures.md): deterministic for a seed, the same on every
 * platform. Two documents' signatures agree in each position with
 * probability equal to the Jaccard similarity of their shingle sets.
 *
 * The C library validates the options and its messages are surfaced as
 * they are (KnowhereError, INVALID_ARG); this module only checks JS types.
 * Values are read in the host's byte order; the library writes them
 * little-endian, which is what every platform Node runs on uses.
 */
import {
  allocate, booleanOf, countOf, describe, resultMemory, runAsync, type ProgressOptions,
} from './async-call.ts';
import { checkRow, invalidArgument, throwIfFailed } from './errors.ts';
import {
  Shingle, SignatureFlag, native, newErrorOut, syncErrorOut, type NativeSignatureOptions,
} from './native.ts';

/** One signature's values, or a batch's end to end. */
export type SignatureValues = Uint32Array | BigUint64Array;

/** 'words': n consecutive words (whitespace-separated, after
 * normalisation); 'chars': n consecutive code points. */
export type ShingleKind = 'words' | 'chars';

export interface SignatureOptions {
  /** K, values per signature (the index's mhVecLength). Default 128. */
  readonly numHashes?: number | undefined;
  /** Default 'words'. */
  readonly shingle?: ShingleKind | undefined;
  /** n, units per shingle. Default 3, the library's for both kinds (5 or
   * so suits 'chars': set it). */
  readonly shingleSize?: number | undefined;
  /** Bytes per value (the index's elementSize): 4 gives a Uint32Array
   * (default), 8 a BigUint64Array. */
  readonly valueBytes?: 4 | 8 | undefined;
  /** Skip lower-casing (whitespace is normalised all the same). Default
   * false. */
  readonly keepCase?: boolean | undefined;
  /** A 64-bit seed; signatures are comparable only under the same seed (and
   * the same other options). Default 0. */
  readonly seed?: number | bigint | undefined;
}

export interface BatchSignatureOptions extends SignatureOptions, ProgressOptions {
  /** Threads for the batch; 0 (default) is one per core. */
  readonly threads?: number | undefined;
}

/** Options that give 8-byte values (a BigUint64Array). */
export type WithValueBytes8<O> = O & { readonly valueBytes: 8 };
/** Options that give 4-byte values (a Uint32Array): valueBytes 4 or none. */
export type WithValueBytes4<O> = O & { readonly valueBytes?: 4 | undefined };

/** A document: a string (encoded as UTF-8) or UTF-8 bytes (invalid bytes
 * read as U+FFFD). */
export type Document = string | Uint8Array;

/** The signatures of a batch of documents, laid out for
 * MinHashLSHIndex.build(values, numHashes, valueBytes, bands, ...). */
export class SignatureBatch<V extends SignatureValues = SignatureValues> {
  /** Documents (signatures). */
  readonly count: number;
  /** Values per signature: build's mhVecLength. */
  readonly numHashes: number;
  /** Bytes per value: build's elementSize. */
  readonly valueBytes: 4 | 8;
  /** count * numHashes values; document i's are values[i * numHashes ..]. */
  readonly values: V;
  /** Distinct shingles of each document; 0 for a document without any
   * (empty or only whitespace), whose signature is the "empty" one (every
   * value all ones). */
  readonly shingleCounts: Uint32Array;

  constructor(count: number, numHashes: number, valueBytes: 4 | 8, values: V, shingleCounts: Uint32Array) {
    this.count = count;
    this.numHashes = numHashes;
    this.valueBytes = valueBytes;
    this.values = values;
    this.shingleCounts = shingleCounts;
  }

  /** A view (no copy) of document i's signature. */
  row(i: number): V {
    checkRow(i, this.count, `the batch has ${this.count} signatures`);
    return this.values.subarray(i * this.numHashes, (i + 1) * this.numHashes) as V;
  }
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/** The largest signature (bytes) the library accepts: 65536 values of 8
 * bytes. Used only to size the output buffer: for options beyond it the
 * buffer is left empty and the library reports what is wrong with them. */
const MAX_SIGNATURE_BYTES = 65536 * 8;

const UINT32_MAX = 0xffff_ffff;
const UINT64_LIMIT = 1n << 64n;

function uint32Of(value: unknown, name: string): number {
  const checked = countOf(value, name);
  if (checked > UINT32_MAX) throw invalidArgument(`${name} must be at most ${UINT32_MAX}, got ${checked}`);
  return checked;
}

function seedOf(value: unknown): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= UINT64_LIMIT) throw invalidArgument(`seed must fit in 64 bits unsigned, got ${value}n`);
    return value;
  }
  return BigInt(countOf(value, 'seed'));
}

/** The library's defaults, shared (frozen) by every call without options. */
const DEFAULT_OPTIONS: NativeSignatureOptions = Object.freeze(native.signatureOptionsInit());

/** The C options struct for `options`: the library's defaults
 * (knowhere_signature_options_init) with what the caller set, and nothing
 * else: every default is the library's, so the same options give the same
 * signatures from C and from here (test/options-defaults.test.ts). */
export function nativeOptionsOf(options: unknown): NativeSignatureOptions {
  if (options === undefined || options === null) return DEFAULT_OPTIONS;
  if (typeof options !== 'object') throw invalidArgument(`options must be an object, got ${describe(options)}`);
  const o = options as SignatureOptions;
  const result = native.signatureOptionsInit();
  if (o.numHashes !== undefined) result.num_hashes = uint32Of(o.numHashes, 'numHashes');
  if (o.shingle !== undefined) {
    if (o.shingle !== 'words' && o.shingle !== 'chars') {
      throw invalidArgument(`shingle must be 'words' or 'chars', got ${describe(o.shingle)}`);
    }
    result.shingle_kind = o.shingle === 'words' ? Shingle.WORDS : Shingle.CHARS;
  }
  if (o.shingleSize !== undefined) result.shingle_size = uint32Of(o.shingleSize, 'shingleSize');
  if (o.valueBytes !== undefined) result.value_bytes = uint32Of(o.valueBytes, 'valueBytes');
  if (o.keepCase !== undefined && booleanOf(o.keepCase, 'keepCase')) result.flags |= SignatureFlag.KEEP_CASE;
  if (o.seed !== undefined) result.seed = seedOf(o.seed);
  return result;
}

/** Bytes of one signature, or 0 when the options are out of the library's
 * range (it then rejects them with its own message before writing). */
function signatureBytesOf(options: NativeSignatureOptions): number {
  const bytes = options.num_hashes * options.value_bytes;
  return bytes <= MAX_SIGNATURE_BYTES ? bytes : 0;
}

/** The scheme of an index's signatures (MinHashLSHIndex.signatureScheme):
 * the signature scheme version of the library that made them
 * (KNOWHERE_SIGNATURE_SCHEME_VERSION) and the options. */
export interface SignatureScheme {
  readonly version: number;
  readonly numHashes: number;
  readonly shingle: ShingleKind;
  readonly shingleSize: number;
  readonly valueBytes: number;
  readonly keepCase: boolean;
  readonly seed: bigint;
}

export function signatureSchemeOf(version: number, options: NativeSignatureOptions): SignatureScheme {
  return {
    version,
    numHashes: options.num_hashes,
    shingle: options.shingle_kind === Shingle.CHARS ? 'chars' : 'words',
    shingleSize: options.shingle_size,
    valueBytes: options.value_bytes,
    keepCase: (options.flags & SignatureFlag.KEEP_CASE) !== 0,
    seed: options.seed,
  };
}

/** The typed view of bytes the library wrote (valueBytes 4 or 8: any
 * other value was rejected before). */
function valuesOf(bytes: Uint8Array, valueBytes: number): SignatureValues {
  return valueBytes === 8
    ? new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8)
    : new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** A Uint8Array's bytes as they are; a string's as UTF-8. */
export function documentBytes(value: unknown, name: string): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw invalidArgument(`${name} must be a string or a Uint8Array, got ${describe(value)}`);
}

/** Strings up to this many UTF-16 units are encoded into the reused
 * buffer; longer ones get their own (so the scratch never holds more than
 * 3 MiB). */
const SCRATCH_TEXT_UNITS = 1 << 20;
const encoder = new TextEncoder();
let textScratch = new Uint8Array(4096);

/**
 * documentBytes for a sync call that reads the bytes only while it runs: a
 * string is encoded into one reused buffer, and the view returned is valid
 * until the next call of this function. Buffer.from allocated and filled a
 * new buffer (from an 8 KiB pool it refills) for every document, which cost
 * more than hashing a short one (docs/benchmarks.md).
 */
export function transientDocumentBytes(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string') return documentBytes(value, name);
  if (value.length > SCRATCH_TEXT_UNITS) return Buffer.from(value, 'utf8');
  const most = 3 * value.length; // UTF-8 bytes per UTF-16 unit, at most
  if (most > textScratch.length) textScratch = new Uint8Array(Math.max(most, 2 * textScratch.length));
  return textScratch.subarray(0, encoder.encodeInto(value, textScratch).written);
}

/** A new array for one signature of these options: the typed array the
 * caller gets (C writes its bytes), or an empty one for options the library
 * is about to reject. */
function signatureArrayOf(options: NativeSignatureOptions): SignatureValues | Uint8Array {
  const bytes = signatureBytesOf(options);
  if (bytes === 0 || (options.value_bytes !== 4 && options.value_bytes !== 8)) return new Uint8Array(bytes);
  const { buffer, byteOffset } = resultMemory(bytes);
  return options.value_bytes === 4 ? new Uint32Array(buffer, byteOffset, options.num_hashes)
    : new BigUint64Array(buffer, byteOffset, options.num_hashes);
}

// ---------------------------------------------------------------------------
// One document
// ---------------------------------------------------------------------------

/** The signature of one document: a Uint32Array, or a BigUint64Array for
 * valueBytes 8. */
export function signatureFromText(text: Document, options: WithValueBytes8<SignatureOptions>): BigUint64Array;
export function signatureFromText(text: Document, options?: WithValueBytes4<SignatureOptions>): Uint32Array;
export function signatureFromText(text: Document, options?: SignatureOptions): SignatureValues;
export function signatureFromText(text: Document, options?: SignatureOptions): SignatureValues {
  const nativeOptions = nativeOptionsOf(options);
  const bytes = transientDocumentBytes(text, 'text');
  const out = signatureArrayOf(nativeOptions);
  const err = syncErrorOut;
  throwIfFailed(native.signatureFromText(nativeOptions, bytes, bytes.byteLength, out, out.byteLength, null, err), err);
  return out as SignatureValues; // a Uint8Array only for options the library rejected
}

/** The signature of one document's bytes under options checked already,
 * written into `out` (any typed array of the signature's byte size): for
 * the binding's callers that sign document after document into one buffer
 * (NearDuplicateIndex). */
export function signatureInto(bytes: Uint8Array, options: NativeSignatureOptions, out: SignatureValues): void {
  const err = syncErrorOut;
  throwIfFailed(native.signatureFromText(options, bytes, bytes.byteLength, out, out.byteLength, null, err), err);
}

/** Token hashes: a BigUint64Array or bigints. */
export type TokenHashes = BigUint64Array | readonly bigint[];

/** The signature of a set of 64-bit token hashes (duplicates ignored), for
 * callers that tokenise themselves. The shingle options do not apply. */
export function signatureFromHashes(hashes: TokenHashes, options: WithValueBytes8<SignatureOptions>): BigUint64Array;
export function signatureFromHashes(hashes: TokenHashes, options?: WithValueBytes4<SignatureOptions>): Uint32Array;
export function signatureFromHashes(hashes: TokenHashes, options?: SignatureOptions): SignatureValues;
export function signatureFromHashes(hashes: TokenHashes, options?: SignatureOptions): SignatureValues {
  const nativeOptions = nativeOptionsOf(options);
  const tokens = hashesOf(hashes);
  const out = new Uint8Array(signatureBytesOf(nativeOptions));
  const err = newErrorOut();
  throwIfFailed(native.signatureFromHashes(nativeOptions, tokens, tokens.length, out, out.byteLength, err), err);
  return valuesOf(out, nativeOptions.value_bytes);
}

/**
 * The signature of a document its caller has already split into tokens
 * (normalised as the caller likes): the shingles are `shingleSize`
 * consecutive tokens joined by one space, each hashed as signatureFromText
 * hashes its shingles, so the words of a normalised text give that text's
 * signature; with `shingleSize: 1` each token is one shingle (for callers
 * with their own shingle strings). Tokens are taken as they are: no
 * lower-casing or splitting. Only word shingles ('words', the default).
 */
export function signatureFromTokens(tokens: readonly Document[], options: WithValueBytes8<SignatureOptions>): BigUint64Array;
export function signatureFromTokens(tokens: readonly Document[], options?: WithValueBytes4<SignatureOptions>): Uint32Array;
export function signatureFromTokens(tokens: readonly Document[], options?: SignatureOptions): SignatureValues;
export function signatureFromTokens(tokens: readonly Document[], options?: SignatureOptions): SignatureValues {
  const nativeOptions = nativeOptionsOf(options);
  const packed = packDocuments(tokens, 'tokens'); // one buffer, an offset per token: one FFI call
  const docOffsets = new BigUint64Array([0n, BigInt(packed.ndocs)]);
  const out = new Uint8Array(signatureBytesOf(nativeOptions));
  const err = newErrorOut();
  throwIfFailed(native.signatureBatchFromTokensWithInterrupt(
    nativeOptions, packed.texts, packed.texts.byteLength, packed.offsets, packed.ndocs, docOffsets, 1, out,
    out.byteLength, null, 1, null, err), err);
  return valuesOf(out, nativeOptions.value_bytes);
}

function hashesOf(value: unknown): BigUint64Array {
  if (value instanceof BigUint64Array) return value;
  if (!Array.isArray(value)) {
    throw invalidArgument(`hashes must be a BigUint64Array or an array of bigints, got ${describe(value)}`);
  }
  return BigUint64Array.from(value, (hash: unknown, i) => {
    if (typeof hash !== 'bigint' || hash < 0n || hash >= UINT64_LIMIT) {
      throw invalidArgument(`hashes[${i}] must be a bigint in 0..2^64-1, got ${describe(hash)}`);
    }
    return hash;
  });
}

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

/** Documents packed for the library's batch calls: every document in one
 * buffer (UTF-8), document i at offsets[i] .. offsets[i + 1], so that a
 * batch is one FFI call. */
export interface PackedDocuments {
  readonly texts: Uint8Array;
  readonly offsets: BigUint64Array;
  readonly ndocs: number;
}

export function packDocuments(documents: unknown, name = 'texts'): PackedDocuments {
  if (!Array.isArray(documents)) {
    throw invalidArgument(`${name} must be an array of strings or Uint8Arrays, got ${describe(documents)}`);
  }
  const ndocs = documents.length;
  let total = 0;
  for (let i = 0; i < ndocs; i++) {
    const doc: unknown = documents[i];
    if (typeof doc === 'string') total += Buffer.byteLength(doc, 'utf8');
    else if (doc instanceof Uint8Array) total += doc.byteLength;
    else throw invalidArgument(`${name}[${i}] must be a string or a Uint8Array, got ${describe(doc)}`);
  }
  const texts = allocate(`${total} bytes of text`, () => Buffer.allocUnsafeSlow(total));
  const offsets = new BigUint64Array(ndocs + 1);
  let at = 0;
  for (let i = 0; i < ndocs; i++) {
    const doc = documents[i] as Document;
    at += typeof doc === 'string' ? texts.write(doc, at, 'utf8') : (texts.set(doc, at), doc.byteLength);
    offsets[i + 1] = BigInt(at);
  }
  return { texts, offsets, ndocs };
}

/** The `threads` option: 0 (one per core) when not given. */
export function threadsOf(options: { readonly threads?: number | undefined } | undefined): number {
  return options?.threads === undefined ? 0 : countOf(options.threads, 'threads');
}

interface BatchArguments extends PackedDocuments {
  readonly options: NativeSignatureOptions;
  readonly out: Uint8Array;
  readonly shingleCounts: Uint32Array;
  readonly threads: number;
}

function batchArguments(documents: unknown, options: BatchSignatureOptions | undefined): BatchArguments {
  const nativeOptions = nativeOptionsOf(options);
  const threads = threadsOf(options);
  const packed = packDocuments(documents);
  const signatureBytes = signatureBytesOf(nativeOptions);
  const out = allocate(`${packed.ndocs} signatures`, () => new Uint8Array(packed.ndocs * signatureBytes));
  return { ...packed, options: nativeOptions, out, shingleCounts: new Uint32Array(packed.ndocs), threads };
}

function batchOf(args: BatchArguments): SignatureBatch {
  const valueBytes = args.options.value_bytes === 8 ? 8 : 4;
  return new SignatureBatch(args.ndocs, args.options.num_hashes, valueBytes, valuesOf(args.out, valueBytes),
    args.shingleCounts);
}

/** The signatures of many documents, on the library's threads (this thread
 * waits: use signaturesFromTextsAsync to keep the event loop free). */
export function signaturesFromTexts(
  texts: readonly Document[], options: WithValueBytes8<BatchSignatureOptions>): SignatureBatch<BigUint64Array>;
export function signaturesFromTexts(
  texts: readonly Document[], options?: WithValueBytes4<BatchSignatureOptions>): SignatureBatch<Uint32Array>;
export function signaturesFromTexts(texts: readonly Document[], options?: BatchSignatureOptions): SignatureBatch;
export function signaturesFromTexts(texts: readonly Document[], options?: BatchSignatureOptions): SignatureBatch {
  const args = batchArguments(texts, options);
  const err = newErrorOut();
  throwIfFailed(native.signatureBatchFromTextWithInterrupt(
    args.options, args.texts, args.texts.byteLength, args.offsets, args.ndocs, args.out, args.out.byteLength,
    args.shingleCounts, args.threads, null, err), err);
  return batchOf(args);
}

/**
 * signaturesFromTexts on the thread pool: cancellable with `signal` /
 * `interrupt` (InterruptedError, or TimeoutError for a deadline), with
 * `onProgress` in phase 'sign' (units: documents). The texts are copied
 * into one native buffer first, so the caller may change them at once.
 */
export function signaturesFromTextsAsync(
  texts: readonly Document[], options: WithValueBytes8<BatchSignatureOptions>): Promise<SignatureBatch<BigUint64Array>>;
export function signaturesFromTextsAsync(
  texts: readonly Document[], options?: WithValueBytes4<BatchSignatureOptions>): Promise<SignatureBatch<Uint32Array>>;
export function signaturesFromTextsAsync(texts: readonly Document[], options?: BatchSignatureOptions):
  Promise<SignatureBatch>;
export async function signaturesFromTextsAsync(texts: readonly Document[], options?: BatchSignatureOptions):
  Promise<SignatureBatch> {
  const args = batchArguments(texts, options);
  await runAsync(options ?? {}, [args.texts, args.offsets, args.out, args.shingleCounts], (interrupt, err) =>
    native.async.signatureBatchFromTextWithInterrupt(
      args.options, args.texts, args.texts.byteLength, args.offsets, args.ndocs, args.out, args.out.byteLength,
      args.shingleCounts, args.threads, interrupt, err), { phase: 'sign', total: args.ndocs });
  return batchOf(args);
}

/**
 * signaturesFromTextsAsync of documents already packed (PackedDocuments),
 * read in place: no copy, so that a document as large as memory allows is
 * held once. The caller hands the packed buffers over until the promise
 * settles: it must own them (made with Buffer.allocUnsafeSlow or new, never
 * transferred or resized) and must not change them meanwhile; so too
 * `reuse`, a buffer for the signatures (used when large enough: the
 * result's values are then a view of it). For callers inside this package
 * (the CLI's streaming reader); the public API copies.
 */
export async function signaturesOfPackedAsync(packed: PackedDocuments,
                                              options: WithValueBytes4<BatchSignatureOptions>,
                                              reuse?: Uint8Array):
  Promise<SignatureBatch<Uint32Array>> {
  const nativeOptions = nativeOptionsOf(options);
  const threads = threadsOf(options);
  const bytes = packed.ndocs * signatureBytesOf(nativeOptions);
  // `reuse` (the caller's, handed over like the texts) when it is large enough.
  const out = reuse !== undefined && reuse.byteLength >= bytes ? reuse.subarray(0, bytes)
    : allocate(`${packed.ndocs} signatures`, () => new Uint8Array(bytes));
  const args: BatchArguments = { ...packed, options: nativeOptions, out, shingleCounts: new Uint32Array(packed.ndocs),
    threads };
  await runAsync(options, [args.texts, args.offsets, args.out, args.shingleCounts], (interrupt, err) =>
    native.async.signatureBatchFromTextWithInterrupt(
      args.options, args.texts, args.texts.byteLength, args.offsets, args.ndocs, args.out, args.out.byteLength,
      args.shingleCounts, args.threads, interrupt, err), { phase: 'sign', total: args.ndocs });
  return batchOf(args) as SignatureBatch<Uint32Array>;
}

// ---------------------------------------------------------------------------
// Comparing signatures
// ---------------------------------------------------------------------------

/** The fraction of positions where two signatures agree: the estimate of
 * the Jaccard similarity of their shingle sets (what an index with raw data
 * reports as the similarity). Both must have the same length. */
export function estimateSimilarity(a: SignatureValues, b: SignatureValues): number {
  if (a.length !== b.length || a.constructor !== b.constructor) {
    throw invalidArgument(`signatures differ in shape: ${describe(a)}(${a.length}) and ${describe(b)}(${b.length})`);
  }
  if (a.length === 0) return 1;
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
  return equal / a.length;
}
