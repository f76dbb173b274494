/**
 * `knowhere-rs dedup`: documents in, near-duplicate clusters out.
 *
 *   reading     files / JSON Lines / the demo corpus   (ts/cli/input.ts)
 *   hashing     MinHash signatures, multithreaded      (signaturesFromTextsAsync)
 *   indexing    the LSH index, with raw signatures     (MinHashLSHIndex.buildAsync)
 *   joining     every pair at similarity >= T          (MinHashLSHIndex.selfJoinAsync)
 *   verifying   exact Jaccard of shingle sets          (--verify exact; shingleSimilaritiesAsync)
 *   clustering  connected components of the pairs      (clusterPairsAsync)
 *   writing     clusters / pairs / keep list           (ts/cli/output.ts)
 *
 * Every native step runs off the main thread with the run's AbortSignal,
 * so Ctrl-C and --timeout stop it within milliseconds; the JS steps give
 * the event loop a turn every few milliseconds for the same reason. Output
 * files are written to temporary files and renamed only at the very end.
 */
import { once } from 'node:events';

import { MinHashLSHIndex } from '../minhash-lsh.ts';
import {
  estimateSimilarity, signaturesFromTextsAsync, type SignatureBatch,
} from '../signature.ts';
import { candidateProbability, chooseBands, clusterPairsAsync, type BandChoice } from '../threshold.ts';
import { DEMO_PACKAGE, loadDemoCorpus } from './demo.ts';
import { ExitCode } from './exit-codes.ts';
import {
  placeOf, readDocuments, readingUnit, type BadInput, type DocumentSource, type InputDocument,
} from './input.ts';
import type { DedupOptions } from './options.ts';
import { AtomicFile, csvField } from './output.ts';
import { Pacer } from './pacer.ts';
import { formatBytes, formatSeconds, plural, type PhaseReporter } from './progress.ts';
import { shingleSimilaritiesAsync } from '../shingle-similarity.ts';

/** Bad input under --strict. */
export class BadInputError extends Error {
  readonly exitCode = ExitCode.BAD_INPUT;
  readonly bad: BadInput;

  constructor(bad: BadInput) {
    super(`${placeOf(bad)}: ${bad.reason}`);
    this.name = 'BadInputError';
    this.bad = bad;
  }
}

interface Writable {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface DedupContext {
  readonly options: DedupOptions;
  readonly signal: AbortSignal;
  readonly reporter: PhaseReporter;
  readonly stdout: Writable & NodeJS.EventEmitter;
  readonly stderr: { write(chunk: string): boolean };
  readonly stdin: NodeJS.ReadableStream;
  /** Set once clusters or pairs went to standard output (then an
   * interruption leaves it incomplete). */
  stdoutStarted: boolean;
}

/** A cluster of two or more near-duplicates. */
export interface Cluster {
  /** The smallest index: the first of the cluster in input order. */
  readonly representative: number;
  /** Ascending, the representative first. */
  readonly members: readonly number[];
}

export interface DedupSummary {
  readonly documents: number;
  readonly skipped: number;
  readonly inputBytes: number;
  readonly bands: BandChoice;
  readonly pairs: number;
  readonly clusters: readonly Cluster[];
  readonly keep: number;
  readonly totalMs: number;
  /** The Subject of each document (--demo only). */
  readonly subjects: readonly string[] | null;
  readonly sources: readonly DocumentSource[];
}

/** S-curve points printed with the band choice. */
const CURVE_POINTS = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
/** Exact similarities are compared with this much slack for rounding. */
const EPSILON = 1e-9;

// ---------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------

async function readPhase(ctx: DedupContext): Promise<{ documents: InputDocument[]; skipped: number;
  subjects: readonly string[] | null }> {
  const { options, reporter } = ctx;
  if (options.demo) {
    reporter.start('reading', 'mails');
    const corpus = loadDemoCorpus();
    ctx.signal.throwIfAborted();
    reporter.end(`${plural(corpus.documents.length, 'mail')} (${formatBytes(totalBytes(corpus.documents))}) ` +
      `from ${DEMO_PACKAGE}`);
    return { documents: corpus.documents, skipped: corpus.skipped, subjects: corpus.subjects };
  }
  let skipped = 0;
  reporter.start('reading', readingUnit(options.jsonl));
  const documents = await readDocuments({
    inputs: options.inputs,
    jsonl: options.jsonl,
    textField: options.textField,
    idField: options.idField,
    signal: ctx.signal,
    stdin: ctx.stdin,
    onProgress: (done, total) => { reporter.update(done, total); },
    onBadInput: (bad) => {
      if (options.strict) throw new BadInputError(bad);
      skipped++;
      reporter.message(`knowhere-rs: skipped ${placeOf(bad)}: ${bad.reason}`);
    },
  });
  reporter.end(`${plural(documents.length, 'document')} (${formatBytes(totalBytes(documents))})` +
    (skipped > 0 ? `, ${skipped} skipped` : ''));
  return { documents, skipped, subjects: null };
}

function totalBytes(documents: readonly InputDocument[]): number {
  let bytes = 0;
  for (const d of documents) bytes += d.text.byteLength;
  return bytes;
}

async function hashPhase(ctx: DedupContext, documents: readonly InputDocument[]): Promise<SignatureBatch<Uint32Array>> {
  const { options, reporter } = ctx;
  reporter.start('hashing', 'documents', documents.length);
  const batch = await signaturesFromTextsAsync(documents.map((d) => d.text), {
    numHashes: options.numHashes,
    shingle: options.shingle.kind,
    shingleSize: options.shingle.size,
    valueBytes: 4,
    seed: options.seed,
    threads: options.threads,
    signal: ctx.signal,
    onProgress: (p) => { reporter.update(p.done, p.total); },
  });
  reporter.end(`${plural(batch.count, 'signature')} of ${batch.numHashes} hashes ` +
    `(${options.shingle.kind === 'words' ? 'word' : 'character'} ${options.shingle.size}-shingles)`);
  return batch;
}

function choosePhase(ctx: DedupContext): BandChoice {
  const { options } = ctx;
  let choice: BandChoice;
  let how: string;
  if (options.bands !== null || options.rows !== null) {
    const bands = options.bands ?? Math.floor(options.numHashes / options.rows!);
    const rows = Math.floor(options.numHashes / bands);
    choice = { bands, rows, probability: candidateProbability(options.threshold, bands, rows) };
    how = 'as given';
  } else {
    choice = chooseBands(options.numHashes, options.threshold, 0.95);
    how = 'chosen for P >= 0.95 at the threshold';
  }
  if (!options.quiet) {
    const points = [...new Set([...CURVE_POINTS, options.threshold])].sort((a, b) => a - b);
    const curve = points.map((s) => `${s}: ${candidateProbability(s, choice.bands, choice.rows).toFixed(3)}`);
    ctx.reporter.message(
      `knowhere-rs: ${options.numHashes} hashes, threshold ${options.threshold}: ${choice.bands} bands x ` +
      `${choice.rows} rows (${how}); P(candidate) at similarity ${curve.join(', ')}`);
  }
  return choice;
}

async function indexPhase(ctx: DedupContext, batch: SignatureBatch<Uint32Array>, choice: BandChoice):
  Promise<MinHashLSHIndex> {
  const { reporter } = ctx;
  reporter.start('indexing', 'signatures', batch.count);
  const index = new MinHashLSHIndex();
  try {
    index.numThreads = ctx.options.threads;
    await index.buildAsync(batch.values, batch.numHashes, batch.valueBytes, choice.bands, true, {
      signal: ctx.signal,
      onProgress: (p) => { reporter.update(p.done, p.total); },
    });
  } catch (error) {
    index.close();
    throw error;
  }
  reporter.end(`${plural(batch.count, 'signature')} in ${choice.bands} bands (${formatBytes(index.memoryUsage)})`);
  return index;
}

interface Pairs {
  left: Int32Array;
  right: Int32Array;
  /** Signature estimates, or exact Jaccard similarities after --verify. */
  similarity: Float64Array;
  count: number;
}

/**
 * The similarity the self-join keeps pairs from. Without verification it is
 * the threshold (on the signature estimate). With --verify exact it is
 * three standard deviations of the estimate lower, sqrt(T (1 - T) / K)
 * each (0.035 at T = 0.8, K = 128), so that a pair whose exact similarity
 * is at the threshold is not lost to a low estimate before it is verified.
 */
export function joinThreshold(options: Pick<DedupOptions, 'threshold' | 'numHashes' | 'verify'>): number {
  if (options.verify !== 'exact') return options.threshold;
  const t = options.threshold;
  const margin = 3 * Math.sqrt((t * (1 - t)) / options.numHashes);
  return Math.max(0, Math.round((t - margin) * 10_000) / 10_000);
}

async function joinPhase(ctx: DedupContext, index: MinHashLSHIndex): Promise<Pairs> {
  const { reporter, options } = ctx;
  const threshold = joinThreshold(options);
  reporter.start('joining', 'signatures', index.count);
  const join = await index.selfJoinAsync(threshold, {
    signal: ctx.signal,
    onProgress: (p) => { reporter.update(p.done, p.total); },
  });
  reporter.end(`${plural(join.count, 'pair')} at ${options.verify === 'exact' ? 'estimated ' : ''}similarity >= ` +
    `${threshold}`);
  return {
    left: Int32Array.from(join.left, Number),
    right: Int32Array.from(join.right, Number),
    similarity: Float64Array.from(join.similarity),
    count: join.count,
  };
}

/** The signatures' shingle options, for the exact similarities. */
function shingleOptions(ctx: DedupContext): { shingle: 'words' | 'chars'; shingleSize: number; threads: number } {
  return { shingle: ctx.options.shingle.kind, shingleSize: ctx.options.shingle.size, threads: ctx.options.threads };
}

/** Keeps the pairs whose exact Jaccard similarity (in C: each document in a
 * pair shingled once, the pairs merged on every thread) reaches T. */
async function verifyPhase(ctx: DedupContext, documents: readonly InputDocument[], pairs: Pairs): Promise<Pairs> {
  const { reporter, options } = ctx;
  reporter.start('verifying', 'documents and pairs', pairs.count);
  const ids = (side: Int32Array): BigInt64Array => BigInt64Array.from(side.subarray(0, pairs.count), BigInt);
  const exact = await shingleSimilaritiesAsync(documents.map((d) => d.text), ids(pairs.left), ids(pairs.right), {
      ...shingleOptions(ctx),
      signal: ctx.signal,
      onProgress: (p) => { reporter.update(p.done, p.total); },
    });
  const kept: Pairs = {
    left: new Int32Array(pairs.count), right: new Int32Array(pairs.count),
    similarity: new Float64Array(pairs.count), count: 0,
  };
  for (let i = 0; i < pairs.count; i++) {
    if (exact[i]! < options.threshold - EPSILON) continue;
    kept.left[kept.count] = pairs.left[i]!;
    kept.right[kept.count] = pairs.right[i]!;
    kept.similarity[kept.count] = exact[i]!;
    kept.count++;
  }
  reporter.end(`${kept.count} of ${plural(pairs.count, 'pair')} have an exact Jaccard similarity >= ` +
    `${options.threshold}`);
  return kept;
}

/** Each cluster member's exact similarity to its representative. */
async function exactMemberSimilarities(ctx: DedupContext, documents: readonly InputDocument[],
                                       clusters: readonly Cluster[]): Promise<Map<number, number>> {
  const representatives: number[] = [];
  const members: number[] = [];
  for (const cluster of clusters) {
    for (const m of cluster.members) {
      if (m === cluster.representative) continue;
      representatives.push(cluster.representative);
      members.push(m);
    }
  }
  const exact = await shingleSimilaritiesAsync(documents.map((d) => d.text), representatives, members,
    { ...shingleOptions(ctx), signal: ctx.signal });
  return new Map(members.map((m, i) => [m, exact[i]!]));
}

async function clusterPhase(ctx: DedupContext, n: number, pairs: Pairs): Promise<Cluster[]> {
  const { reporter } = ctx;
  reporter.start('clustering', 'pairs', pairs.count);
  const ids = await clusterPairsAsync(n, BigInt64Array.from(pairs.left.subarray(0, pairs.count), BigInt),
    BigInt64Array.from(pairs.right.subarray(0, pairs.count), BigInt), { signal: ctx.signal });
  const byRepresentative = new Map<number, number[]>();
  for (let v = 0; v < n; v++) {
    const representative = Number(ids[v]);
    if (representative === v) continue;
    let members = byRepresentative.get(representative);
    if (members === undefined) {
      members = [representative];
      byRepresentative.set(representative, members);
    }
    members.push(v);
  }
  const clusters = [...byRepresentative].map(([representative, members]) => ({ representative, members }))
    .sort((a, b) => a.representative - b.representative);
  const inClusters = clusters.reduce((sum, c) => sum + c.members.length, 0);
  reporter.end(`${plural(clusters.length, 'cluster')} of 2 or more (${plural(inClusters, 'document')})`);
  return clusters;
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

function sourceJson(source: DocumentSource, index: number): Record<string, unknown> {
  const json: Record<string, unknown> = { index, name: source.name };
  if (source.line !== undefined) {
    json['file'] = source.file === '-' ? '<stdin>' : source.file;
    json['line'] = source.line;
  }
  return json;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/** One JSON line per cluster: the representative, then every member with
 * its similarity to the representative. */
function* clusterLines(clusters: readonly Cluster[], sources: readonly DocumentSource[],
                       similarity: (a: number, b: number) => number): Generator<string> {
  for (const cluster of clusters) {
    const rep = cluster.representative;
    yield `${JSON.stringify({
      representative: sourceJson(sources[rep]!, rep),
      size: cluster.members.length,
      members: cluster.members.map((m) => ({
        ...sourceJson(sources[m]!, m), similarity: m === rep ? 1 : round(similarity(rep, m)),
      })),
    })}\n`;
  }
}

function* pairLines(pairs: Pairs, sources: readonly DocumentSource[]): Generator<string> {
  yield 'left_index,right_index,left,right,similarity\n';
  for (let i = 0; i < pairs.count; i++) {
    const l = pairs.left[i]!;
    const r = pairs.right[i]!;
    yield `${l},${r},${csvField(sources[l]!.name)},${csvField(sources[r]!.name)},${round(pairs.similarity[i]!)}\n`;
  }
}

/** The documents to keep: the representative of each cluster and every
 * document in no cluster, in input order. */
function* keepLines(n: number, clusters: readonly Cluster[], sources: readonly DocumentSource[]): Generator<string> {
  const dropped = new Uint8Array(n);
  for (const cluster of clusters) for (const m of cluster.members) if (m !== cluster.representative) dropped[m] = 1;
  for (let v = 0; v < n; v++) if (dropped[v] === 0) yield `${sources[v]!.name}\n`;
}

async function writeLines(lines: Iterable<string>, sink: (chunk: string) => Promise<void>, pacer: Pacer):
  Promise<void> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= 1 << 16) {
      await sink(chunk);
      chunk = '';
      await pacer.tick();
    }
  }
  if (chunk !== '') await sink(chunk);
}

async function writePhase(ctx: DedupContext, content: Iterable<string> | null, keep: Iterable<string> | null):
  Promise<void> {
  const { options, reporter } = ctx;
  const toFile = content !== null && options.output !== null;
  const toStdout = content !== null && options.output === null;
  const keepFile = keep !== null && options.keepFirst !== null;
  if (!toFile && !toStdout && !keepFile) return;
  reporter.start('writing', 'bytes');
  const pacer = new Pacer(ctx.signal);
  let bytes = 0;
  const counted = (sink: (chunk: string) => Promise<void>) => async (chunk: string): Promise<void> => {
    await sink(chunk);
    bytes += Buffer.byteLength(chunk);
    reporter.update(bytes, 0);
  };
  const files: AtomicFile[] = [];
  const written: string[] = [];
  try {
    if (toFile) {
      const file = await AtomicFile.create(options.output!);
      files.push(file);
      await writeLines(content!, counted((chunk) => file.write(chunk)), pacer);
      written.push(options.output!);
    }
    if (keepFile) {
      const file = await AtomicFile.create(options.keepFirst!);
      files.push(file);
      await writeLines(keep!, counted((chunk) => file.write(chunk)), pacer);
      written.push(options.keepFirst!);
    }
    ctx.signal.throwIfAborted();
    for (const file of files) await file.finish();
    ctx.signal.throwIfAborted();
    // No await between the renames: an interruption sees all or none.
    for (const file of files) file.renameSync();
  } catch (error) {
    await Promise.all(files.map((file) => file.discard()));
    throw error;
  }
  if (toStdout) {
    ctx.stdoutStarted = true;
    await writeLines(content!, counted(async (chunk) => {
      if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
    }), pacer);
    written.push('standard output');
  }
  reporter.end(`${formatBytes(bytes)} to ${written.join(' and ')}`);
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

export async function runDedup(ctx: DedupContext): Promise<DedupSummary> {
  const started = performance.now();
  const { options } = ctx;
  const { documents, skipped, subjects } = await readPhase(ctx);
  const n = documents.length;
  const choice = choosePhase(ctx);
  let pairs: Pairs = { left: new Int32Array(0), right: new Int32Array(0), similarity: new Float64Array(0), count: 0 };
  let batch: SignatureBatch<Uint32Array> | null = null;
  if (n >= 2) {
    batch = await hashPhase(ctx, documents);
    const index = await indexPhase(ctx, batch, choice);
    try {
      pairs = await joinPhase(ctx, index);
    } finally {
      index.close();
    }
  }
  if (options.verify === 'exact' && pairs.count > 0) pairs = await verifyPhase(ctx, documents, pairs);
  const clusters = await clusterPhase(ctx, n, pairs);

  // A member's similarity to its representative: exact with --verify, else
  // the signature estimate. (Without signatures, n < 2: no clusters.)
  const signatures = batch;
  const exact = options.verify === 'exact' && options.format !== 'pairs-csv'
    ? await exactMemberSimilarities(ctx, documents, clusters) : null;
  const similarity = exact !== null || signatures === null
    ? (_: number, member: number): number => exact?.get(member) ?? 1
    : (a: number, b: number): number => estimateSimilarity(signatures.row(a), signatures.row(b));
  const content = options.demo && options.output === null ? null
    : options.format === 'pairs-csv' ? pairLines(pairs, documents) : clusterLines(clusters, documents, similarity);
  const keep = options.keepFirst === null ? null : keepLines(n, clusters, documents);
  await writePhase(ctx, content, keep);

  const keepCount = n - clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
  return {
    documents: n, skipped, inputBytes: totalBytes(documents), bands: choice, pairs: pairs.count, clusters,
    keep: keepCount, totalMs: performance.now() - started, subjects, sources: documents,
  };
}

// ---------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------

/** The few lines printed after a run (stderr; stdout for --demo). */
export function summaryText(summary: DedupSummary, options: DedupOptions, times: readonly { phase: string;
  ms: number }[]): string {
  const inClusters = summary.clusters.reduce((sum, c) => sum + c.members.length, 0);
  const largest = [...summary.clusters].sort((a, b) => b.members.length - a.members.length ||
    a.representative - b.representative).slice(0, 5);
  const what = options.demo ? 'mail' : 'document';
  const lines = [
    options.demo
      ? `SpamAssassin public mail corpus (${DEMO_PACKAGE}): ${plural(summary.documents, 'mail')}, ` +
        `${formatBytes(summary.inputBytes)} of message bodies`
      : `${plural(summary.documents, 'document')} (${formatBytes(summary.inputBytes)})` +
        (summary.skipped > 0 ? `, ${summary.skipped} inputs skipped` : ''),
    `near-duplicates at Jaccard >= ${options.threshold} (${options.shingle.kind === 'words' ? 'word' : 'character'} ` +
      `${options.shingle.size}-shingles, ${options.numHashes} hashes, ${summary.bands.bands} bands x ` +
      `${summary.bands.rows} rows${options.verify === 'exact' ? ', verified exactly' : ''}):`,
    `  ${plural(summary.pairs, 'pair')}, ${plural(summary.clusters.length, 'cluster')} holding ` +
      `${plural(inClusters, what)}; ${plural(summary.keep, what)} to keep`,
  ];
  if (largest.length > 0) {
    lines.push('  largest clusters:');
    for (const cluster of largest) {
      const rep = cluster.representative;
      const subject = summary.subjects?.[rep];
      lines.push(`    ${String(cluster.members.length).padStart(4)} ${what}s  ${summary.sources[rep]!.name}` +
        (subject ? `  "${subject.length > 60 ? `${subject.slice(0, 57)}...` : subject}"` : ''));
    }
  }
  lines.push(`time: ${times.map((t) => `${t.phase} ${formatSeconds(t.ms)}`).join(', ')}; ` +
    `total ${formatSeconds(summary.totalMs)}`);
  return `${lines.join('\n')}\n`;
}
