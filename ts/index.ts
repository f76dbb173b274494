/**
 * knowhere-rs: a cancellable MinHash-LSH near-duplicate index.
 *
 * The public API of the binding. Native handles and koffi stay inside
 * ts/native.ts and are not reachable from here.
 */
import { native } from './native.ts';

export { Status, KnowhereError, InterruptedError, TimeoutError } from './errors.ts';
export type { StatusCode, StatusName } from './errors.ts';
export { Interrupt, checkInterrupt } from './interrupt.ts';
export type { SharedInterruptToken } from './interrupt.ts';
export { MinHashLSHIndex, BatchSearchResult } from './minhash-lsh.ts';
export type {
  AsyncBatchSearchOptions, AsyncOptions, AsyncRangeSearchOptions, AsyncSearchOptions, BuildShape, Filter, PathLike,
  Progress, SearchOptions,
  ProgressCallback, ProgressOptions, ProgressPhase, RangeSearchOptions, SearchResult, SignatureData,
} from './minhash-lsh.ts';
export {
  SignatureBatch, estimateSimilarity, signatureFromHashes, signatureFromText, signatureFromTokens,
  signaturesFromTexts, signaturesFromTextsAsync,
} from './signature.ts';
export type {
  BatchSignatureOptions, Document, ShingleKind, SignatureOptions, SignatureScheme, SignatureValues, TokenHashes,
  WithValueBytes4, WithValueBytes8,
} from './signature.ts';
export {
  shingleSet, shingleSetSimilarity, shingleSimilarities, shingleSimilaritiesAsync, shingleSimilarity,
} from './shingle-similarity.ts';
export { NearDuplicateIndex } from './near-duplicate.ts';
export type {
  AddIfNewResult, DocumentKey, NearDuplicateAddIfNewOptions, NearDuplicateAddOptions, NearDuplicateIndexOptions,
  NearDuplicateMatch, NearDuplicateQueryManyOptions, NearDuplicateQueryOptions, ResolvedNearDuplicateOptions,
  ShingleOptions,
} from './near-duplicate.ts';
export type { ShingleSimilaritiesOptions } from './shingle-similarity.ts';
export {
  RangeSearchResult, SelfJoinResult, bandKeys, candidateProbability, chooseBands, clusterPairs, clusterPairsAsync,
} from './threshold.ts';
export type { BandChoice, PairIds } from './threshold.ts';
export { Clusters } from './cluster.ts';
export type { ClusterMode, ClusterOptions, ExactCheck, JoinEstimate } from './cluster.ts';

/** The native library's version string, e.g. "0.3.0". */
export function version(): string {
  return native.version();
}

/** The native library's MAJOR * 10000 + MINOR * 100 + PATCH. */
export function versionNumber(): number {
  return native.versionNumber();
}

/** The native library's ABI version (the binding refuses any other than the
 * one it was written for, at load time). */
export function abiVersion(): number {
  return native.abiVersion();
}

/** The absolute path of the native library this process loaded (a build
 * from source in the package's build/, the prebuilt library of this
 * platform, or KNOWHERE_RS_LIB). */
export function libraryPath(): string {
  return native.path;
}
