/**
 * The only module that knows koffi: it finds and loads libknowhere_rs,
 * checks its ABI version and declares every function of knowhere_rs.h.
 *
 * Everything it exports is plain TypeScript: branded bigint handles (so an
 * index handle cannot be passed where an interrupt handle is expected), an
 * `ErrorOut` buffer for the `knowhere_error **err` out-parameter, and
 * Promise-returning async variants that keep their arguments alive.
 * Handles never leave the binding: ts/index.ts does not re-export this module.
 */
import fs from 'node:fs';
import path from 'node:path';

import koffi, { type LibraryHandle, type TypeObject } from 'koffi';

import { findPackageRoot, libraryCandidates, platformKey } from './library-path.ts';

/** The KNOWHERE_RS_ABI_VERSION this binding was written against. */
export const BINDING_ABI_VERSION = 1;

declare const errorBrand: unique symbol;
declare const interruptBrand: unique symbol;
declare const indexBrand: unique symbol;
declare const bufferBrand: unique symbol;
declare const rangeResultBrand: unique symbol;
declare const pairsBrand: unique symbol;

/** A `knowhere_error *` (never NULL: NULL is `null`). */
export type ErrorPtr = bigint & { readonly [errorBrand]: true };
/** A `CInterrupt` (`struct knowhere_interrupt *`). */
export type InterruptPtr = bigint & { readonly [interruptBrand]: true };
/** A `knowhere_minhash_lsh *`. */
export type IndexPtr = bigint & { readonly [indexBrand]: true };
/** A `uint8_t *` allocated by the library (free it with bufferFree). */
export type LibraryBufferPtr = bigint & { readonly [bufferBrand]: true };
/** A `knowhere_range_result *` (free it with rangeResultFree). */
export type RangeResultPtr = bigint & { readonly [rangeResultBrand]: true };
/** A `knowhere_pairs *` (free it with pairsFree). */
export type PairsPtr = bigint & { readonly [pairsBrand]: true };

/**
 * The `knowhere_error **err` out-parameter (declared `void *err`): 8 zeroed
 * bytes the library writes the error pointer into, read back as a
 * host-order integer (right on 64-bit hosts and little-endian 32-bit ones,
 * every platform Node and koffi ship for). A plain buffer rather than koffi's `_Out_` marshalling,
 * which costs about 0.35 us per call (measured on a search: 0.99 -> 0.64
 * us). Use takeError() to read it; each async call has its own, which stays
 * alive with the call's other arguments.
 */
export type ErrorOut = BigUint64Array;

export function newErrorOut(): ErrorOut {
  return new BigUint64Array(1);
}

/**
 * One ErrorOut shared by the binding's hot SYNC calls (a search, a
 * signature, an add). A fresh 8-byte array is stored inside V8's heap and
 * koffi must move it out to take its address: that and the allocation cost
 * about 0.3 us a call (docs/benchmarks.md, "the binding's per-call cost").
 * Sharing is safe because sync calls never overlap on this thread and each
 * caller reads it (throwIfFailed / takeError) before the next call; async
 * calls must keep using a newErrorOut() of their own.
 */
export const syncErrorOut: ErrorOut = newErrorOut();

/** A `size_t *` out-parameter the library writes in place: 8 bytes read
 * like ErrorOut (zeroed before each call, so a 4-byte size_t reads right
 * on little-endian 32-bit hosts). Cheaper than koffi's `_Out_` copy-back. */
export type SizeOut = BigUint64Array;

export function newSizeOut(): SizeOut {
  return new BigUint64Array(1);
}

/** The error object the last call left in `err` (null: none), and clears
 * `err` so that it is never read (and freed) twice. */
export function takeError(err: ErrorOut): ErrorPtr | null {
  const pointer = err[0] ?? 0n;
  err[0] = 0n;
  return pointer === 0n ? null : (pointer as ErrorPtr);
}

/** Bytes handed to C as `const uint8_t *` / `uint8_t *` (zero-copy). A
 * `const char *` is passed as bytes too, NUL-terminated by the caller. */
export type Bytes = Uint8Array;

/** The `uint8_t **out` / `size_t *out_len` out-parameters of serialize:
 * fresh `[null]` and `[0]`; koffi copies the values back when the call
 * returns (async calls too). A length beyond 2^53 would come back as a
 * bigint. */
export type BufferOut = [LibraryBufferPtr | null];
export type LengthOut = [number | bigint];

export function newBufferOut(): BufferOut {
  return [null];
}

export function newLengthOut(): LengthOut {
  return [0];
}

/** The `knowhere_range_result **result` and `knowhere_pairs **pairs`
 * out-parameters: a fresh `[null]`, filled when the call returns (async
 * calls too); NULL on error. */
export type RangeResultOut = [RangeResultPtr | null];
export type PairsOut = [PairsPtr | null];

export function newRangeResultOut(): RangeResultOut {
  return [null];
}

export function newPairsOut(): PairsOut {
  return [null];
}

/** knowhere_signature_options, field for field (C names). Build it from
 * signatureOptionsInit() so that `size` and every default are the
 * library's. */
export interface NativeSignatureOptions {
  size: number;
  num_hashes: number;
  shingle_kind: number;
  shingle_size: number;
  value_bytes: number;
  flags: number;
  seed: bigint;
}

/** knowhere_search_options, field for field (C names). The binding's
 * searches use the plain functions, whose behaviour is these options'
 * defaults; the struct is declared so that the defaults can be compared
 * (test/options-defaults.test.ts). Its other settings serve C callers such
 * as the knowhere node (adapters/knowhere). */
export interface NativeSearchOptions {
  size: number;
  mode: number;
  refine_k: bigint;
  bitset_id_offset: bigint;
  threads: bigint;
  filter: null;
  filter_user: null;
}

/** The `size_t *shingles` out-parameter of knowhere_signature_from_text. */
export type CountOut = [number | bigint];

/** The `double *similarity` out-parameter of knowhere_shingle_jaccard. */
export type SimilarityOut = [number];

/** The three out-parameters of knowhere_lsh_choose_bands. */
export interface ChooseBandsOut {
  readonly bands: [number | bigint];
  readonly rows: [number | bigint];
  readonly probability: [number];
}

/** A copy, in JS memory, of a range result (knowhere's `lims` layout). */
export interface RangeResultCopy {
  readonly lims: BigUint64Array;
  readonly ids: BigInt64Array;
  readonly distances: Float32Array;
}

/** A copy, in JS memory, of a pair list. */
export interface PairsCopy {
  readonly left: BigInt64Array;
  readonly right: BigInt64Array;
  readonly similarity: Float32Array;
}

/** knowhere_interrupt_progress: the last progress published on a flag. */
export interface NativeProgress {
  readonly done: number;
  readonly total: number;
  /** A KNOWHERE_PHASE_* number. */
  readonly phase: number;
}

/** The KNOWHERE_PHASE_* numbers of knowhere_rs.h. */
export const Phase = {
  IDLE: 0,
  BUILD: 1,
  ADD: 2,
  SEARCH: 3,
  SAVE: 4,
  LOAD: 5,
  SIGN: 6,
  JOIN: 7,
  VERIFY: 8,
  CLUSTER: 9,
} as const;

/** KNOWHERE_CLUSTER_* of knowhere_rs.h. */
export const ClusterMode = { COMPONENTS: 0, COVER: 1 } as const;

/** KNOWHERE_SHINGLE_* and KNOWHERE_SIGNATURE_* of knowhere_rs.h. */
export const Shingle = { WORDS: 0, CHARS: 1 } as const;
export const SignatureFlag = { KEEP_CASE: 0x1 } as const;

/** UINT64_MAX, as knowhere_interrupt_remaining_ms returns it for "none". */
export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

export interface NativeLibrary {
  /** The absolute path the library was loaded from. */
  readonly path: string;

  version(): string;
  versionNumber(): number;
  abiVersion(): number;
  statusString(status: number): string;

  errorCode(error: ErrorPtr | null): number;
  errorMessage(error: ErrorPtr | null): string;
  errorFree(error: ErrorPtr | null): void;
  /** knowhere_error_set: stores a new error in err[0] (for tests and for
   * callers writing their own fallible functions). Returns `code`. */
  errorSet(err: ErrorOut, code: number, message: string | null): number;

  interruptCreate(): InterruptPtr | null;
  interruptCreateWithState(interrupted: boolean): InterruptPtr | null;
  interruptIsInterrupted(interrupt: InterruptPtr | null): boolean;
  interruptInterrupt(interrupt: InterruptPtr | null): number;
  interruptReset(interrupt: InterruptPtr | null): number;
  interruptTestAndSet(interrupt: InterruptPtr | null): boolean;
  interruptClone(interrupt: InterruptPtr | null): InterruptPtr | null;
  /** knowhere_interrupt_create_linked: a new flag that also reads as set
   * when any of `parents` (null entries skipped) is. */
  interruptCreateLinked(parents: readonly (InterruptPtr | null)[]): InterruptPtr | null;
  interruptFree(interrupt: InterruptPtr | null): void;
  interruptCheck(interrupt: InterruptPtr | null, err: ErrorOut, message: string | null): number;
  interruptCreateWithTimeout(timeoutMs: number): InterruptPtr | null;
  interruptSetDeadline(interrupt: InterruptPtr | null, msFromNow: number): number;
  /** Exact, as a bigint: UINT64_MAX (no deadline) does not fit a number. */
  interruptRemainingMs(interrupt: InterruptPtr | null): bigint;
  /** null when the handle is NULL (INVALID_ARG). */
  interruptProgress(interrupt: InterruptPtr | null): NativeProgress | null;

  minhashLshCreate(): IndexPtr | null;
  minhashLshFree(index: IndexPtr | null): void;
  minhashLshBuildWithInterrupt(
    index: IndexPtr, data: Bytes, dataLen: number, mhVecLength: number, elementSize: number,
    bands: number, withRawData: boolean, interrupt: InterruptPtr | null, err: ErrorOut): number;
  /** `data` may be any typed array or DataView (its bytes are read). */
  minhashLshAddWithInterrupt(
    index: IndexPtr, data: ArrayBufferView, dataLen: number, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshCompactWithInterrupt(index: IndexPtr, interrupt: InterruptPtr | null, err: ErrorOut): number;
  /** `query` may be any typed array or DataView (its bytes are read). */
  minhashLshSearchWithInterrupt(
    index: IndexPtr, query: ArrayBufferView, queryLen: number, k: number, bitset: Bytes | null, bitsetBits: number,
    ids: BigInt64Array, distances: Float32Array, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshBatchSearchWithInterrupt(
    index: IndexPtr, queries: Bytes, queriesLen: number, nq: number, k: number, bitset: Bytes | null,
    bitsetBits: number, ids: BigInt64Array, distances: Float32Array, interrupt: InterruptPtr | null,
    err: ErrorOut): number;
  searchOptionsInit(): NativeSearchOptions;
  minhashLshBatchSearchWithOptions(
    index: IndexPtr, queries: Bytes, queriesLen: number, nq: number, k: number, bitset: Bytes | null,
    bitsetBits: number, options: NativeSearchOptions, ids: BigInt64Array, distances: Float32Array,
    interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshGetVectorByIds(
    index: IndexPtr, ids: BigInt64Array, n: number, out: Bytes, outLen: number, err: ErrorOut): number;
  minhashLshRemove(index: IndexPtr, ids: BigInt64Array, n: number, removed: CountOut, err: ErrorOut): number;
  minhashLshSetAppData(index: IndexPtr, data: Bytes | null, len: number, err: ErrorOut): number;
  /** `len` is the `size_t *len` out-parameter: a fresh `[0]`. */
  minhashLshGetAppData(index: IndexPtr, out: Bytes | null, outCap: number, len: CountOut, err: ErrorOut): number;
  minhashLshRemovedCount(index: IndexPtr): number;
  minhashLshCount(index: IndexPtr): number;
  minhashLshMhVecLength(index: IndexPtr): number;
  minhashLshElementSize(index: IndexPtr): number;
  minhashLshBands(index: IndexPtr): number;
  minhashLshRowsPerBand(index: IndexPtr): number;
  minhashLshHasRawData(index: IndexPtr): boolean;
  minhashLshSetRawBits(index: IndexPtr, bits: number, err: ErrorOut): number;
  minhashLshRawBits(index: IndexPtr): number;
  minhashLshMemoryUsage(index: IndexPtr): number;
  minhashLshSetNumThreads(index: IndexPtr, threads: number): number;
  minhashLshNumThreads(index: IndexPtr): number;

  minhashLshSaveWithInterrupt(
    index: IndexPtr, path: Bytes, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshLoadWithInterrupt(
    index: IndexPtr, path: Bytes, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshSerializeWithInterrupt(
    index: IndexPtr, out: BufferOut, outLen: LengthOut, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshDeserializeWithInterrupt(
    index: IndexPtr, data: Bytes, dataLen: number, interrupt: InterruptPtr | null, err: ErrorOut): number;
  /** A copy, in JS memory, of `length` bytes of a library buffer. */
  bufferCopy(buffer: LibraryBufferPtr, length: number): Uint8Array;
  bufferFree(buffer: LibraryBufferPtr | null): void;

  signatureOptionsInit(): NativeSignatureOptions;
  /** `out` may be any typed array (its bytes are written); the options are
   * passed as the struct's bytes (see packSignatureOptions). */
  signatureFromText(
    options: NativeSignatureOptions, text: Bytes, textLen: number, out: ArrayBufferView, outLen: number,
    shingles: SizeOut | null,
    err: ErrorOut): number;
  signatureFromHashes(
    options: NativeSignatureOptions, hashes: BigUint64Array, count: number, out: Bytes, outLen: number,
    err: ErrorOut): number;
  signatureBatchFromTextWithInterrupt(
    options: NativeSignatureOptions, texts: Bytes, textsLen: number, offsets: BigUint64Array, ndocs: number,
    out: Bytes, outLen: number, shingleCounts: Uint32Array | null, threads: number, interrupt: InterruptPtr | null,
    err: ErrorOut): number;
  signatureBatchFromTokensWithInterrupt(
    options: NativeSignatureOptions, bytes: Bytes, bytesLen: number, tokenOffsets: BigUint64Array, ntokens: number,
    docOffsets: BigUint64Array, ndocs: number, out: Bytes, outLen: number, shingleCounts: Uint32Array | null,
    threads: number, interrupt: InterruptPtr | null, err: ErrorOut): number;
  shingleJaccard(
    options: NativeSignatureOptions, a: Bytes, aLen: number, b: Bytes, bLen: number, similarity: SimilarityOut,
    err: ErrorOut): number;
  shingleJaccardPairsWithInterrupt(
    options: NativeSignatureOptions, texts: Bytes, textsLen: number, offsets: BigUint64Array, ndocs: number,
    left: BigInt64Array, right: BigInt64Array, npairs: number, similarities: Float64Array, threads: number,
    interrupt: InterruptPtr | null, err: ErrorOut): number;
  /** `count` is the `size_t *count` out-parameter (zeroed by the call). */
  shingleSet(
    options: NativeSignatureOptions, text: Bytes, textLen: number, out: BigUint64Array | null, outCap: number,
    count: SizeOut, err: ErrorOut): number;
  shingleSetJaccard(a: BigUint64Array, aCount: number, b: BigUint64Array, bCount: number): number;
  shingleSetJaccardRows(
    query: BigUint64Array, queryCount: number, arena: BigUint64Array, arenaLen: number, rowStart: BigUint64Array,
    rowCount: Uint32Array, rows: number, ids: BigInt64Array, n: number, similarities: Float64Array,
    err: ErrorOut): number;
  signatureAndShingleSet(
    options: NativeSignatureOptions, text: Bytes, textLen: number, signature: ArrayBufferView, signatureLen: number,
    out: BigUint64Array, outCap: number, count: SizeOut, err: ErrorOut): number;
  shingleSetsWithInterrupt(
    options: NativeSignatureOptions, texts: Bytes, textsLen: number, offsets: BigUint64Array, ndocs: number,
    out: BigUint64Array, outLen: number, outOffsets: BigUint64Array, threads: number,
    interrupt: InterruptPtr | null, err: ErrorOut): number;

  lshCandidateProbability(s: number, bands: number, rows: number): number;
  lshChooseBands(numHashes: number, threshold: number, target: number, out: ChooseBandsOut, err: ErrorOut): number;
  minhashLshRangeSearchWithInterrupt(
    index: IndexPtr, queries: Bytes, queriesLen: number, nq: number, threshold: number, bitset: Bytes | null,
    bitsetBits: number, result: RangeResultOut, interrupt: InterruptPtr | null, err: ErrorOut): number;
  /** Copies the result out of C memory (it stays to be freed). */
  rangeResultCopy(result: RangeResultPtr): RangeResultCopy;
  rangeResultFree(result: RangeResultPtr | null): void;
  minhashLshSelfJoinWithInterrupt(
    index: IndexPtr, threshold: number, pairs: PairsOut, interrupt: InterruptPtr | null, err: ErrorOut): number;
  /** Copies the pairs out of C memory (they stay to be freed). */
  pairsCopy(pairs: PairsPtr): PairsCopy;
  pairsFree(pairs: PairsPtr | null): void;
  clusterPairsWithInterrupt(
    n: number, left: BigInt64Array, right: BigInt64Array, npairs: number, clusterIds: BigInt64Array,
    interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshClusterWithInterrupt(
    index: IndexPtr, threshold: number, mode: number, representatives: BigInt64Array,
    similarities: Float64Array | null, n: number, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshClusterExactWithInterrupt(
    index: IndexPtr, threshold: number, mode: number, options: NativeSignatureOptions, texts: Bytes,
    textsLen: number, offsets: BigUint64Array, exactThreshold: number, representatives: BigInt64Array,
    similarities: Float64Array | null, n: number, interrupt: InterruptPtr | null, err: ErrorOut): number;
  minhashLshSelfJoinEstimateWithInterrupt(
    index: IndexPtr, threshold: number, pairs: CountOut, candidates: CountOut, interrupt: InterruptPtr | null,
    err: ErrorOut): number;
  lshBandKeys(
    signature: Bytes, signatureLen: number, mhVecLength: number, elementSize: number, bands: number,
    keys: BigUint64Array, keysLen: number, err: ErrorOut): number;
  minhashLshSetSignatureScheme(index: IndexPtr, options: NativeSignatureOptions | null, err: ErrorOut): number;
  /** The recorded scheme (version 0: none; options then the defaults). */
  minhashLshSignatureScheme(index: IndexPtr, err: ErrorOut):
    { status: number; version: number; options: NativeSignatureOptions };
  minhashLshCheckSignatureScheme(index: IndexPtr, options: NativeSignatureOptions, err: ErrorOut): number;

  /**
   * The long operations run on the libuv thread pool (koffi `.async`). Each
   * resolves with the C status; the arguments are held until the native
   * call has returned, because koffi does not keep them alive itself.
   */
  readonly async: NativeAsync;
}

/** Signatures of the functions callable off the main thread. */
export interface NativeAsync {
  minhashLshBuildWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshBuildWithInterrupt']>): Promise<number>;
  minhashLshAddWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshAddWithInterrupt']>): Promise<number>;
  minhashLshCompactWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshCompactWithInterrupt']>): Promise<number>;
  minhashLshSearchWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshSearchWithInterrupt']>): Promise<number>;
  minhashLshBatchSearchWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshBatchSearchWithInterrupt']>): Promise<number>;
  minhashLshSaveWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshSaveWithInterrupt']>): Promise<number>;
  minhashLshLoadWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshLoadWithInterrupt']>): Promise<number>;
  minhashLshSerializeWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshSerializeWithInterrupt']>): Promise<number>;
  minhashLshDeserializeWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshDeserializeWithInterrupt']>): Promise<number>;
  signatureBatchFromTextWithInterrupt(
    ...args: Parameters<NativeLibrary['signatureBatchFromTextWithInterrupt']>): Promise<number>;
  shingleJaccardPairsWithInterrupt(
    ...args: Parameters<NativeLibrary['shingleJaccardPairsWithInterrupt']>): Promise<number>;
  shingleSetsWithInterrupt(...args: Parameters<NativeLibrary['shingleSetsWithInterrupt']>): Promise<number>;
  minhashLshRangeSearchWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshRangeSearchWithInterrupt']>): Promise<number>;
  minhashLshSelfJoinWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshSelfJoinWithInterrupt']>): Promise<number>;
  clusterPairsWithInterrupt(
    ...args: Parameters<NativeLibrary['clusterPairsWithInterrupt']>): Promise<number>;
  minhashLshClusterWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshClusterWithInterrupt']>): Promise<number>;
  minhashLshClusterExactWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshClusterExactWithInterrupt']>): Promise<number>;
  minhashLshSelfJoinEstimateWithInterrupt(
    ...args: Parameters<NativeLibrary['minhashLshSelfJoinEstimateWithInterrupt']>): Promise<number>;
}

// ---------------------------------------------------------------------------
// Loading the library
// ---------------------------------------------------------------------------

/** The reason a loaded file cannot serve as our library, or null: a
 * mismatched ABI would pass wrong arguments and crash instead of failing
 * cleanly. */
function abiProblem(lib: LibraryHandle): string | null {
  let abiVersion: KoffiFunction;
  try {
    abiVersion = lib.func('uint32_t knowhere_abi_version(void)');
  } catch (error) {
    return `not a knowhere-rs library (no knowhere_abi_version: ${error instanceof Error ? error.message : String(error)})`;
  }
  const found = abiVersion() as number;
  return found === BINDING_ABI_VERSION
    ? null
    : `ABI version ${found}, but this binding was written for ABI version ${BINDING_ABI_VERSION}`;
}

/** The first candidate that loads and has our ABI; otherwise an error that
 * lists every path tried and why each failed. */
function loadFirstCandidate(): { lib: LibraryHandle; path: string } {
  const { candidates, source } = libraryCandidates();
  const failures: string[] = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) {
      failures.push(`  ${candidate}: file not found`);
      continue;
    }
    let lib: LibraryHandle;
    try {
      lib = koffi.load(candidate);
    } catch (error) {
      // koffi's message does not name the file; we do.
      failures.push(`  ${candidate}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const problem = abiProblem(lib);
    if (problem === null) return { lib, path: candidate };
    failures.push(`  ${candidate}: ${problem}`);
  }
  const root = findPackageRoot();
  const installScript = root === null ? 'scripts/install.mjs' : path.join(root, 'scripts', 'install.mjs');
  throw new Error([
    'knowhere-rs: cannot load the native library.',
    `Paths tried (from ${source}):`,
    ...(failures.length > 0 ? failures : ['  (none)']),
    `No prebuilt library fits this platform (${platformKey()}). Build one from source with`,
    `\`node ${installScript}\` (needs CMake >= 3.16 and a C compiler), or set KNOWHERE_RS_LIB`,
    'to the path of a libknowhere_rs you built.',
  ].join('\n'));
}

// ---------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------

/** koffi type names are global per isolate; reuse ours if this module was
 * ever evaluated twice (e.g. imported through two different URLs). */
function declareOnce(name: string, declare: () => TypeObject): void {
  try {
    koffi.type(name);
  } catch {
    declare();
  }
}

type KoffiFunction = ReturnType<LibraryHandle['func']>;

/** Arguments of in-flight async calls: koffi holds neither the TypedArrays
 * nor the out-array, and a GC during the call would free memory C writes. */
const asyncArgumentsInFlight = new Set<readonly unknown[]>();

function callAsync(fn: KoffiFunction, args: readonly unknown[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    asyncArgumentsInFlight.add(args);
    try {
      fn.async(...args, (error: unknown, status: number) => {
        asyncArgumentsInFlight.delete(args);
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(status);
      });
    } catch (error) {
      // Marshalling failed (or too many calls in flight): nothing started.
      asyncArgumentsInFlight.delete(args);
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/**
 * Writes a NativeSignatureOptions into the bytes of a C
 * knowhere_signature_options (offsets and size from koffi's declaration,
 * host byte order) and returns them: one buffer, reused, for the sync calls
 * that take the options this way (only ever read during the call). A
 * frozen options object (the defaults, an index's) that was the last one
 * packed is not packed again.
 */
function optionsPacker(): (options: NativeSignatureOptions) => Uint8Array {
  const type = koffi.type('knowhere_signature_options');
  const bytes = new Uint8Array(new ArrayBuffer(koffi.sizeof(type)));
  const u32 = new Uint32Array(bytes.buffer);
  const u64 = new BigUint64Array(bytes.buffer);
  const at32 = (field: string): number => koffi.offsetof(type, field) / 4;
  const [size, numHashes, kind, shingleSize, valueBytes, flags] =
    ['size', 'num_hashes', 'shingle_kind', 'shingle_size', 'value_bytes', 'flags'].map(at32) as number[];
  const seed = koffi.offsetof(type, 'seed') / 8;
  let last: NativeSignatureOptions | null = null;
  return (o) => {
    if (o === last) return bytes;
    last = Object.isFrozen(o) ? o : null;
    u32[size as number] = o.size;
    u32[numHashes as number] = o.num_hashes;
    u32[kind as number] = o.shingle_kind;
    u32[shingleSize as number] = o.shingle_size;
    u32[valueBytes as number] = o.value_bytes;
    u32[flags as number] = o.flags;
    u64[seed] = BigInt.asUintN(64, BigInt(o.seed));
    return bytes;
  };
}

function declare(lib: LibraryHandle, libraryPath: string): NativeLibrary {
  declareOnce('knowhere_error', () => koffi.opaque('knowhere_error'));
  declareOnce('knowhere_interrupt', () => koffi.opaque('knowhere_interrupt'));
  declareOnce('CInterrupt', () => koffi.pointer('CInterrupt', koffi.type('knowhere_interrupt')));
  declareOnce('knowhere_minhash_lsh', () => koffi.opaque('knowhere_minhash_lsh'));
  declareOnce('knowhere_range_result', () => koffi.opaque('knowhere_range_result'));
  declareOnce('knowhere_pairs', () => koffi.opaque('knowhere_pairs'));
  declareOnce('knowhere_signature_options', () => koffi.struct('knowhere_signature_options', {
    size: 'uint32_t',
    num_hashes: 'uint32_t',
    shingle_kind: 'uint32_t',
    shingle_size: 'uint32_t',
    value_bytes: 'uint32_t',
    flags: 'uint32_t',
    seed: 'uint64_t',
  }));
  const packOptions = optionsPacker();
  // The row predicate is a C function pointer; the binding never sets one.
  declareOnce('knowhere_search_options', () => koffi.struct('knowhere_search_options', {
    size: 'uint32_t',
    mode: 'uint32_t',
    refine_k: 'uint64_t',
    bitset_id_offset: 'uint64_t',
    threads: 'uint64_t',
    filter: 'void *',
    filter_user: 'void *',
  }));

  // The prototypes are those of knowhere_rs.h, with `_Out_` marking the
  // error out-parameter so koffi copies the pointer back into our array.
  const f = (prototype: string): KoffiFunction => lib.func(prototype);

  const version = f('const char *knowhere_version(void)');
  const versionNumber = f('uint32_t knowhere_version_number(void)');
  const abiVersion = f('uint32_t knowhere_abi_version(void)');
  const statusString = f('const char *knowhere_status_string(int status)');

  const errorCode = f('int knowhere_error_code(const knowhere_error *error)');
  const errorMessage = f('const char *knowhere_error_message(const knowhere_error *error)');
  const errorFree = f('void knowhere_error_free(knowhere_error *error)');
  const errorSet = f('int knowhere_error_set(void *err, int code, const char *message)');

  const interruptCreate = f('CInterrupt knowhere_interrupt_create(void)');
  const interruptCreateWithState = f('CInterrupt knowhere_interrupt_create_with_state(bool interrupted)');
  const interruptIsInterrupted = f('bool knowhere_interrupt_is_interrupted(CInterrupt interrupt)');
  const interruptInterrupt = f('int knowhere_interrupt_interrupt(CInterrupt interrupt)');
  const interruptReset = f('int knowhere_interrupt_reset(CInterrupt interrupt)');
  const interruptTestAndSet = f('bool knowhere_interrupt_test_and_set(CInterrupt interrupt)');
  const interruptClone = f('CInterrupt knowhere_interrupt_clone(CInterrupt interrupt)');
  const interruptFree = f('void knowhere_interrupt_free(CInterrupt interrupt)');
  // `parents` is an input array: koffi copies the JS array of handles into
  // memory of its own for the call.
  const interruptCreateLinked = f(
    'CInterrupt knowhere_interrupt_create_linked(const CInterrupt *parents, size_t count)');
  const interruptCheck = f(
    'int knowhere_interrupt_check(CInterrupt interrupt, void *err, const char *message)');
  const interruptCreateWithTimeout = f('CInterrupt knowhere_interrupt_create_with_timeout(uint64_t timeout_ms)');
  const interruptSetDeadline = f('int knowhere_interrupt_set_deadline(CInterrupt interrupt, uint64_t ms_from_now)');
  const interruptRemainingMs = f('uint64_t knowhere_interrupt_remaining_ms(CInterrupt interrupt)');
  const interruptProgress = f(
    'int knowhere_interrupt_progress(CInterrupt interrupt, _Out_ uint64_t *done, _Out_ uint64_t *total, ' +
    '_Out_ int *phase)');
  // Declared for coverage only. The callback runs on the library's worker
  // threads: relayed to JS, it would block them on the event loop (and
  // deadlock a sync call), so the binding polls knowhere_interrupt_progress.
  declareOnce('knowhere_progress_fn', () =>
    koffi.pointer('knowhere_progress_fn',
      koffi.proto('int knowhere_progress_fn_proto(void *user, uint64_t done, uint64_t total)')));
  f('int knowhere_interrupt_set_progress(CInterrupt interrupt, knowhere_progress_fn fn, void *user)');

  const create = f('knowhere_minhash_lsh *knowhere_minhash_lsh_create(void)');
  const free = f('void knowhere_minhash_lsh_free(knowhere_minhash_lsh *index)');
  const buildWithInterrupt = f(
    'int knowhere_minhash_lsh_build_with_interrupt(knowhere_minhash_lsh *index, const uint8_t *data, ' +
    'size_t data_len, size_t mh_vec_length, size_t mh_vec_element_size, size_t bands, bool with_raw_data, ' +
    'CInterrupt interrupt, void *err)');
  // The non-interrupt forms are declared so the whole header is covered (and
  // a missing export fails at load time); the wrappers pass a NULL interrupt
  // to the _with_interrupt forms, which the header defines as equivalent.
  f('int knowhere_minhash_lsh_build(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, ' +
    'size_t mh_vec_length, size_t mh_vec_element_size, size_t bands, bool with_raw_data, ' +
    'void *err)');
  // Buffers the binding may pass as any typed array are `const void *` /
  // `void *` here (koffi takes a TypedArray or a DataView for them as for
  // `uint8_t *`): no Uint8Array view to allocate per call.
  const addWithInterrupt = f(
    'int knowhere_minhash_lsh_add_with_interrupt(knowhere_minhash_lsh *index, const void *data, ' +
    'size_t data_len, CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_add(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, ' +
    'void *err)');
  const compactWithInterrupt = f(
    'int knowhere_minhash_lsh_compact_with_interrupt(knowhere_minhash_lsh *index, CInterrupt interrupt, void *err)');
  const searchWithInterrupt = f(
    'int knowhere_minhash_lsh_search_with_interrupt(const knowhere_minhash_lsh *index, const void *query, ' +
    'size_t query_len, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances, ' +
    'CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_search(const knowhere_minhash_lsh *index, const uint8_t *query, ' +
    'size_t query_len, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances, ' +
    'void *err)');
  const batchSearchWithInterrupt = f(
    'int knowhere_minhash_lsh_batch_search_with_interrupt(const knowhere_minhash_lsh *index, ' +
    'const uint8_t *queries, size_t queries_len, size_t nq, size_t k, const uint8_t *bitset, ' +
    'size_t bitset_bits, int64_t *ids, float *distances, CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_batch_search(const knowhere_minhash_lsh *index, const uint8_t *queries, ' +
    'size_t queries_len, size_t nq, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, ' +
    'float *distances, void *err)');
  const searchOptionsInit = f('void knowhere_search_options_init(_Out_ knowhere_search_options *options)');
  const batchSearchWithOptions = f(
    'int knowhere_minhash_lsh_batch_search_with_options(const knowhere_minhash_lsh *index, ' +
    'const uint8_t *queries, size_t queries_len, size_t nq, size_t k, const uint8_t *bitset, ' +
    'size_t bitset_bits, const knowhere_search_options *options, int64_t *ids, float *distances, ' +
    'CInterrupt interrupt, void *err)');
  const getVectorByIds = f(
    'int knowhere_minhash_lsh_get_vector_by_ids(const knowhere_minhash_lsh *index, const int64_t *ids, ' +
    'size_t n, uint8_t *out, size_t out_len, void *err)');
  const setAppData = f(
    'int knowhere_minhash_lsh_set_app_data(knowhere_minhash_lsh *index, const uint8_t *data, size_t len, void *err)');
  const getAppData = f(
    'int knowhere_minhash_lsh_get_app_data(const knowhere_minhash_lsh *index, uint8_t *out, size_t out_cap, ' +
    '_Out_ size_t *len, void *err)');
  const remove = f(
    'int knowhere_minhash_lsh_remove(knowhere_minhash_lsh *index, const int64_t *ids, size_t n, ' +
    '_Out_ size_t *removed, void *err)');
  const removedCount = f('size_t knowhere_minhash_lsh_removed_count(const knowhere_minhash_lsh *index)');
  const count = f('size_t knowhere_minhash_lsh_count(const knowhere_minhash_lsh *index)');
  const mhVecLength = f('size_t knowhere_minhash_lsh_mh_vec_length(const knowhere_minhash_lsh *index)');
  const elementSize = f('size_t knowhere_minhash_lsh_element_size(const knowhere_minhash_lsh *index)');
  const bands = f('size_t knowhere_minhash_lsh_bands(const knowhere_minhash_lsh *index)');
  const rowsPerBand = f('size_t knowhere_minhash_lsh_rows_per_band(const knowhere_minhash_lsh *index)');
  const hasRawData = f('bool knowhere_minhash_lsh_has_raw_data(const knowhere_minhash_lsh *index)');
  const setRawBits = f('int knowhere_minhash_lsh_set_raw_bits(knowhere_minhash_lsh *index, uint32_t bits, void *err)');
  const rawBits = f('uint32_t knowhere_minhash_lsh_raw_bits(const knowhere_minhash_lsh *index)');
  const memoryUsage = f('size_t knowhere_minhash_lsh_memory_usage(const knowhere_minhash_lsh *index)');
  const setNumThreads = f('int knowhere_minhash_lsh_set_num_threads(knowhere_minhash_lsh *index, size_t threads)');
  const numThreads = f('size_t knowhere_minhash_lsh_num_threads(const knowhere_minhash_lsh *index)');

  // Paths are `const char *` in C; the binding passes NUL-terminated UTF-8
  // bytes (a Uint8Array), which koffi hands over zero-copy like any buffer.
  const saveWithInterrupt = f(
    'int knowhere_minhash_lsh_save_with_interrupt(const knowhere_minhash_lsh *index, const char *path, ' +
    'CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_save(const knowhere_minhash_lsh *index, const char *path, ' +
    'void *err)');
  const loadWithInterrupt = f(
    'int knowhere_minhash_lsh_load_with_interrupt(knowhere_minhash_lsh *index, const char *path, ' +
    'CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_load(knowhere_minhash_lsh *index, const char *path, void *err)');
  const serializeWithInterrupt = f(
    'int knowhere_minhash_lsh_serialize_with_interrupt(const knowhere_minhash_lsh *index, _Out_ uint8_t **out, ' +
    '_Out_ size_t *out_len, CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_serialize(const knowhere_minhash_lsh *index, _Out_ uint8_t **out, ' +
    '_Out_ size_t *out_len, void *err)');
  const deserializeWithInterrupt = f(
    'int knowhere_minhash_lsh_deserialize_with_interrupt(knowhere_minhash_lsh *index, const uint8_t *data, ' +
    'size_t data_len, CInterrupt interrupt, void *err)');
  f('int knowhere_minhash_lsh_deserialize(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, ' +
    'void *err)');
  const bufferFree = f('void knowhere_buffer_free(uint8_t *buffer)');

  // Signatures. The options struct is passed by pointer: koffi copies the JS
  // object into memory of its own for the duration of the call (async calls
  // too), so only the buffers need holding.
  const signatureOptionsInit = f(
    'void knowhere_signature_options_init(_Out_ knowhere_signature_options *options)');
  // The defaults never change: read once (koffi fills the properties of
  // the object given for an _Out_ struct), copied for each caller.
  let defaults: NativeSignatureOptions | null = null;
  const signatureDefaults = (): NativeSignatureOptions => {
    if (defaults === null) {
      const filled = {} as NativeSignatureOptions;
      signatureOptionsInit(filled);
      defaults = { ...filled, seed: BigInt(filled.seed) };
    }
    return defaults;
  };
  // The hot single-document calls take their options as the struct's bytes
  // (packSignatureOptions): koffi's conversion of a JS object to a struct
  // costs about 0.8 us a call, more than hashing a short document.
  const signatureFromText = f(
    'int knowhere_signature_from_text(const void *options, const uint8_t *text, ' +
    'size_t text_len, void *out, size_t out_len, void *shingles, void *err)');
  const signatureFromHashes = f(
    'int knowhere_signature_from_hashes(const knowhere_signature_options *options, const uint64_t *hashes, ' +
    'size_t count, uint8_t *out, size_t out_len, void *err)');
  const signatureBatch = f(
    'int knowhere_signature_batch_from_text_with_interrupt(const knowhere_signature_options *options, ' +
    'const uint8_t *texts, size_t texts_len, const uint64_t *offsets, size_t ndocs, uint8_t *out, ' +
    'size_t out_len, uint32_t *shingle_counts, size_t threads, CInterrupt interrupt, void *err)');
  const signatureBatchTokens = f(
    'int knowhere_signature_batch_from_tokens_with_interrupt(const knowhere_signature_options *options, ' +
    'const uint8_t *bytes, size_t bytes_len, const uint64_t *token_offsets, size_t ntokens, ' +
    'const uint64_t *doc_offsets, size_t ndocs, uint8_t *out, size_t out_len, uint32_t *shingle_counts, ' +
    'size_t threads, CInterrupt interrupt, void *err)');
  const shingleJaccard = f(
    'int knowhere_shingle_jaccard(const knowhere_signature_options *options, const uint8_t *a, size_t a_len, ' +
    'const uint8_t *b, size_t b_len, _Out_ double *similarity, void *err)');
  const shingleSet = f(
    'int knowhere_shingle_set(const void *options, const uint8_t *text, size_t text_len, ' +
    'uint64_t *out, size_t out_cap, void *count, void *err)');
  const shingleSetJaccard = f(
    'double knowhere_shingle_set_jaccard(const uint64_t *a, size_t a_count, const uint64_t *b, size_t b_count)');
  const shingleSetJaccardRows = f(
    'int knowhere_shingle_set_jaccard_rows(const uint64_t *query, size_t query_count, const uint64_t *arena, ' +
    'size_t arena_len, const uint64_t *row_start, const uint32_t *row_count, size_t rows, const int64_t *ids, ' +
    'size_t n, double *similarities, void *err)');
  const signatureAndShingleSet = f(
    'int knowhere_signature_and_shingle_set(const void *options, const uint8_t *text, ' +
    'size_t text_len, void *signature, size_t signature_len, uint64_t *out, size_t out_cap, ' +
    'void *count, void *err)');
  const shingleSets = f(
    'int knowhere_shingle_sets_with_interrupt(const knowhere_signature_options *options, const uint8_t *texts, ' +
    'size_t texts_len, const uint64_t *offsets, size_t ndocs, uint64_t *out, size_t out_len, ' +
    'const uint64_t *out_offsets, size_t threads, CInterrupt interrupt, void *err)');
  const shingleJaccardPairs = f(
    'int knowhere_shingle_jaccard_pairs_with_interrupt(const knowhere_signature_options *options, ' +
    'const uint8_t *texts, size_t texts_len, const uint64_t *offsets, size_t ndocs, const int64_t *left, ' +
    'const int64_t *right, size_t npairs, double *similarities, size_t threads, CInterrupt interrupt, ' +
    'void *err)');

  // Thresholds. Result objects come back through `_Out_ T **` and are read
  // with their accessors (the arrays are copied out with koffi.view).
  const candidateProbability = f(
    'double knowhere_lsh_candidate_probability(double s, size_t bands, size_t rows)');
  const chooseBands = f(
    'int knowhere_lsh_choose_bands(size_t num_hashes, double threshold, double target, _Out_ size_t *bands, ' +
    '_Out_ size_t *rows, _Out_ double *probability, void *err)');
  const rangeResultNq = f('size_t knowhere_range_result_nq(const knowhere_range_result *result)');
  const rangeResultLims = f('const void *knowhere_range_result_lims(const knowhere_range_result *result)');
  const rangeResultIds = f('const void *knowhere_range_result_ids(const knowhere_range_result *result)');
  const rangeResultDistances = f('const void *knowhere_range_result_distances(const knowhere_range_result *result)');
  const rangeResultFree = f('void knowhere_range_result_free(knowhere_range_result *result)');
  const rangeSearchWithInterrupt = f(
    'int knowhere_minhash_lsh_range_search_with_interrupt(const knowhere_minhash_lsh *index, ' +
    'const uint8_t *queries, size_t queries_len, size_t nq, float threshold, const uint8_t *bitset, ' +
    'size_t bitset_bits, _Out_ knowhere_range_result **result, CInterrupt interrupt, void *err)');
  const pairsCount = f('size_t knowhere_pairs_count(const knowhere_pairs *pairs)');
  const pairsLeft = f('const void *knowhere_pairs_left(const knowhere_pairs *pairs)');
  const pairsRight = f('const void *knowhere_pairs_right(const knowhere_pairs *pairs)');
  const pairsSimilarity = f('const void *knowhere_pairs_similarity(const knowhere_pairs *pairs)');
  const pairsFree = f('void knowhere_pairs_free(knowhere_pairs *pairs)');
  const selfJoinWithInterrupt = f(
    'int knowhere_minhash_lsh_self_join_with_interrupt(const knowhere_minhash_lsh *index, float threshold, ' +
    '_Out_ knowhere_pairs **pairs, CInterrupt interrupt, void *err)');
  const clusterPairsWithInterrupt = f(
    'int knowhere_cluster_pairs_with_interrupt(size_t n, const int64_t *left, const int64_t *right, ' +
    'size_t npairs, int64_t *cluster_ids, CInterrupt interrupt, void *err)');
  const clusterWithInterrupt = f(
    'int knowhere_minhash_lsh_cluster_with_interrupt(const knowhere_minhash_lsh *index, float threshold, ' +
    'uint32_t mode, int64_t *representatives, double *similarities, size_t n, CInterrupt interrupt, void *err)');
  const clusterExactWithInterrupt = f(
    'int knowhere_minhash_lsh_cluster_exact_with_interrupt(const knowhere_minhash_lsh *index, ' +
    'float threshold, uint32_t mode, const knowhere_signature_options *options, const uint8_t *texts, ' +
    'size_t texts_len, const uint64_t *offsets, double exact_threshold, int64_t *representatives, ' +
    'double *similarities, size_t n, CInterrupt interrupt, void *err)');
  const selfJoinEstimateWithInterrupt = f(
    'int knowhere_minhash_lsh_self_join_estimate_with_interrupt(const knowhere_minhash_lsh *index, ' +
    'float threshold, _Out_ uint64_t *pairs, _Out_ uint64_t *candidates, CInterrupt interrupt, void *err)');
  const bandKeys = f(
    'int knowhere_lsh_band_keys(const uint8_t *signature, size_t signature_len, size_t mh_vec_length, ' +
    'size_t element_size, size_t bands, uint64_t *keys, size_t keys_len, void *err)');
  const setSignatureScheme = f(
    'int knowhere_minhash_lsh_set_signature_scheme(knowhere_minhash_lsh *index, ' +
    'const knowhere_signature_options *options, void *err)');
  const signatureScheme = f(
    'int knowhere_minhash_lsh_signature_scheme(const knowhere_minhash_lsh *index, ' +
    '_Inout_ knowhere_signature_options *options, _Out_ uint32_t *version, void *err)');
  const checkSignatureScheme = f(
    'int knowhere_minhash_lsh_check_signature_scheme(const knowhere_minhash_lsh *index, ' +
    'const knowhere_signature_options *options, void *err)');

  /** `count` elements of C memory at `pointer`, copied into a new array
   * (JS-owned, aligned: the copy is a fresh ArrayBuffer). */
  const copyArray = <T>(pointer: unknown, count: number, bytesPerElement: number,
                        make: (buffer: ArrayBuffer) => T, empty: () => T): T => {
    if (count === 0 || pointer === null) return empty();
    return make(koffi.view(pointer as bigint, count * bytesPerElement).slice(0));
  };

  // Scratch for knowhere_interrupt_progress (a sync call on this thread).
  const progressDone: [number | bigint] = [0];
  const progressTotal: [number | bigint] = [0];
  const progressPhase: [number] = [0];

  return {
    path: libraryPath,
    version: () => version() as string,
    versionNumber: () => versionNumber() as number,
    abiVersion: () => abiVersion() as number,
    statusString: (status) => statusString(status) as string,

    errorCode: (error) => errorCode(error) as number,
    errorMessage: (error) => errorMessage(error) as string,
    errorFree: (error) => { errorFree(error); },
    errorSet: (err, code, message) => errorSet(err, code, message) as number,

    interruptCreate: () => interruptCreate() as InterruptPtr | null,
    interruptCreateWithState: (interrupted) => interruptCreateWithState(interrupted) as InterruptPtr | null,
    interruptIsInterrupted: (h) => interruptIsInterrupted(h) as boolean,
    interruptInterrupt: (h) => interruptInterrupt(h) as number,
    interruptReset: (h) => interruptReset(h) as number,
    interruptTestAndSet: (h) => interruptTestAndSet(h) as boolean,
    interruptClone: (h) => interruptClone(h) as InterruptPtr | null,
    interruptCreateLinked: (parents) => interruptCreateLinked(parents, parents.length) as InterruptPtr | null,
    interruptFree: (h) => { interruptFree(h); },
    interruptCheck: (h, err, message) => interruptCheck(h, err, message) as number,
    interruptCreateWithTimeout: (ms) => interruptCreateWithTimeout(ms) as InterruptPtr | null,
    interruptSetDeadline: (h, ms) => interruptSetDeadline(h, ms) as number,
    interruptRemainingMs: (h) => BigInt(interruptRemainingMs(h) as number | bigint),
    interruptProgress: (h) => {
      if (interruptProgress(h, progressDone, progressTotal, progressPhase) !== 0) return null;
      return { done: Number(progressDone[0]), total: Number(progressTotal[0]), phase: progressPhase[0] };
    },

    minhashLshCreate: () => create() as IndexPtr | null,
    minhashLshFree: (index) => { free(index); },
    minhashLshBuildWithInterrupt: (...args) => buildWithInterrupt(...args) as number,
    minhashLshAddWithInterrupt: (...args) => addWithInterrupt(...args) as number,
    minhashLshCompactWithInterrupt: (...args) => compactWithInterrupt(...args) as number,
    minhashLshSearchWithInterrupt: (...args) => searchWithInterrupt(...args) as number,
    minhashLshBatchSearchWithInterrupt: (...args) => batchSearchWithInterrupt(...args) as number,
    searchOptionsInit: () => {
      const filled = {} as NativeSearchOptions;
      searchOptionsInit(filled);
      return {
        ...filled, refine_k: BigInt(filled.refine_k), bitset_id_offset: BigInt(filled.bitset_id_offset),
        threads: BigInt(filled.threads),
      };
    },
    minhashLshBatchSearchWithOptions: (...args) => batchSearchWithOptions(...args) as number,
    minhashLshGetVectorByIds: (...args) => getVectorByIds(...args) as number,
    minhashLshRemove: (...args) => remove(...args) as number,
    minhashLshSetAppData: (...args) => setAppData(...args) as number,
    minhashLshGetAppData: (...args) => getAppData(...args) as number,
    minhashLshRemovedCount: (index) => removedCount(index) as number,
    minhashLshCount: (index) => count(index) as number,
    minhashLshMhVecLength: (index) => mhVecLength(index) as number,
    minhashLshElementSize: (index) => elementSize(index) as number,
    minhashLshBands: (index) => bands(index) as number,
    minhashLshRowsPerBand: (index) => rowsPerBand(index) as number,
    minhashLshHasRawData: (index) => hasRawData(index) as boolean,
    minhashLshSetRawBits: (...args) => setRawBits(...args) as number,
    minhashLshRawBits: (index) => rawBits(index) as number,
    minhashLshMemoryUsage: (index) => memoryUsage(index) as number,
    minhashLshSetNumThreads: (index, threads) => setNumThreads(index, threads) as number,
    minhashLshNumThreads: (index) => numThreads(index) as number,
    minhashLshSaveWithInterrupt: (...args) => saveWithInterrupt(...args) as number,
    minhashLshLoadWithInterrupt: (...args) => loadWithInterrupt(...args) as number,
    minhashLshSerializeWithInterrupt: (...args) => serializeWithInterrupt(...args) as number,
    minhashLshDeserializeWithInterrupt: (...args) => deserializeWithInterrupt(...args) as number,
    bufferCopy: (buffer, length) =>
      length === 0 ? new Uint8Array(0) : new Uint8Array(koffi.view(buffer, length)).slice(),
    bufferFree: (buffer) => { bufferFree(buffer); },

    signatureOptionsInit: () => ({ ...signatureDefaults() }),
    signatureFromText: (options, text, textLen, out, outLen, shingles, err) => {
      if (shingles !== null) shingles[0] = 0n;
      return signatureFromText(packOptions(options), text, textLen, out, outLen, shingles, err) as number;
    },
    signatureFromHashes: (...args) => signatureFromHashes(...args) as number,
    signatureBatchFromTextWithInterrupt: (...args) => signatureBatch(...args) as number,
    signatureBatchFromTokensWithInterrupt: (...args) => signatureBatchTokens(...args) as number,
    shingleJaccard: (...args) => shingleJaccard(...args) as number,
    shingleJaccardPairsWithInterrupt: (...args) => shingleJaccardPairs(...args) as number,
    shingleSet: (options, text, textLen, out, outCap, count, err) => {
      count[0] = 0n;
      return shingleSet(packOptions(options), text, textLen, out, outCap, count, err) as number;
    },
    shingleSetJaccard: (...args) => shingleSetJaccard(...args) as number,
    signatureAndShingleSet: (options, text, textLen, signature, signatureLen, out, outCap, count, err) => {
      count[0] = 0n;
      return signatureAndShingleSet(packOptions(options), text, textLen, signature, signatureLen, out, outCap, count,
        err) as number;
    },
    shingleSetJaccardRows: (...args) => shingleSetJaccardRows(...args) as number,
    shingleSetsWithInterrupt: (...args) => shingleSets(...args) as number,

    lshCandidateProbability: (s, bands, rows) => candidateProbability(s, bands, rows) as number,
    lshChooseBands: (numHashes, threshold, target, out, err) =>
      chooseBands(numHashes, threshold, target, out.bands, out.rows, out.probability, err) as number,
    minhashLshRangeSearchWithInterrupt: (...args) => rangeSearchWithInterrupt(...args) as number,
    rangeResultCopy: (result) => {
      const nq = Number(rangeResultNq(result) as number | bigint);
      const lims = copyArray(rangeResultLims(result), nq + 1, 8, (b) => new BigUint64Array(b),
        () => new BigUint64Array(nq + 1));
      const total = Number(lims[nq] ?? 0n);
      return {
        lims,
        ids: copyArray(rangeResultIds(result), total, 8, (b) => new BigInt64Array(b), () => new BigInt64Array(0)),
        distances: copyArray(rangeResultDistances(result), total, 4, (b) => new Float32Array(b),
          () => new Float32Array(0)),
      };
    },
    rangeResultFree: (result) => { rangeResultFree(result); },
    minhashLshSelfJoinWithInterrupt: (...args) => selfJoinWithInterrupt(...args) as number,
    pairsCopy: (pairs) => {
      const count = Number(pairsCount(pairs) as number | bigint);
      return {
        left: copyArray(pairsLeft(pairs), count, 8, (b) => new BigInt64Array(b), () => new BigInt64Array(0)),
        right: copyArray(pairsRight(pairs), count, 8, (b) => new BigInt64Array(b), () => new BigInt64Array(0)),
        similarity: copyArray(pairsSimilarity(pairs), count, 4, (b) => new Float32Array(b),
          () => new Float32Array(0)),
      };
    },
    pairsFree: (pairs) => { pairsFree(pairs); },
    clusterPairsWithInterrupt: (...args) => clusterPairsWithInterrupt(...args) as number,
    minhashLshClusterWithInterrupt: (...args) => clusterWithInterrupt(...args) as number,
    minhashLshClusterExactWithInterrupt: (...args) => clusterExactWithInterrupt(...args) as number,
    minhashLshSelfJoinEstimateWithInterrupt: (...args) => selfJoinEstimateWithInterrupt(...args) as number,
    lshBandKeys: (...args) => bandKeys(...args) as number,
    minhashLshSetSignatureScheme: (index, options, err) => setSignatureScheme(index, options, err) as number,
    minhashLshSignatureScheme: (index, err) => {
      const options = { ...signatureDefaults() };
      const version: [number] = [0];
      const status = signatureScheme(index, options, version, err) as number;
      return { status, version: version[0], options: { ...options, seed: BigInt(options.seed) } };
    },
    minhashLshCheckSignatureScheme: (...args) => checkSignatureScheme(...args) as number,

    async: {
      minhashLshBuildWithInterrupt: (...args) => callAsync(buildWithInterrupt, args),
      minhashLshAddWithInterrupt: (...args) => callAsync(addWithInterrupt, args),
      minhashLshCompactWithInterrupt: (...args) => callAsync(compactWithInterrupt, args),
      minhashLshSearchWithInterrupt: (...args) => callAsync(searchWithInterrupt, args),
      minhashLshBatchSearchWithInterrupt: (...args) => callAsync(batchSearchWithInterrupt, args),
      minhashLshSaveWithInterrupt: (...args) => callAsync(saveWithInterrupt, args),
      minhashLshLoadWithInterrupt: (...args) => callAsync(loadWithInterrupt, args),
      minhashLshSerializeWithInterrupt: (...args) => callAsync(serializeWithInterrupt, args),
      minhashLshDeserializeWithInterrupt: (...args) => callAsync(deserializeWithInterrupt, args),
      signatureBatchFromTextWithInterrupt: (...args) => callAsync(signatureBatch, args),
      shingleJaccardPairsWithInterrupt: (...args) => callAsync(shingleJaccardPairs, args),
      shingleSetsWithInterrupt: (...args) => callAsync(shingleSets, args),
      minhashLshRangeSearchWithInterrupt: (...args) => callAsync(rangeSearchWithInterrupt, args),
      minhashLshSelfJoinWithInterrupt: (...args) => callAsync(selfJoinWithInterrupt, args),
      clusterPairsWithInterrupt: (...args) => callAsync(clusterPairsWithInterrupt, args),
      minhashLshClusterWithInterrupt: (...args) => callAsync(clusterWithInterrupt, args),
      minhashLshClusterExactWithInterrupt: (...args) => callAsync(clusterExactWithInterrupt, args),
      minhashLshSelfJoinEstimateWithInterrupt: (...args) => callAsync(selfJoinEstimateWithInterrupt, args),
    },
  };
}

const loaded = loadFirstCandidate();

/** The loaded, ABI-checked library. */
export const native: NativeLibrary = declare(loaded.lib, loaded.path);
