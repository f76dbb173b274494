/**
 * `knowhere-rs dedup`: documents in, near-duplicate clusters out.
 *
 *   reading     files / JSON Lines / the demo corpus   (ts/cli/input.ts)
 *   hashing     MinHash signatures, multithreaded      (signaturesFromTextsAsync)
 *   indexing    the LSH index, with raw signatures     (MinHashLSHIndex.buildAsync)
 *   joining     every pair at similarity >= T          (MinHashLSHIndex.selfJoinAsync)
 *   verifying   exact Jaccard of shingle sets          (--verify exact; shingleSimilaritiesAsync)
 *   clustering  greedy cover in input order, or        (ts/cli/clusters.ts)
 *               connected components of the pairs      (clusterPairsAsync)
 *   writing     clusters / pairs / keep list           (ts/cli/write.ts, output.ts)
 *
 * Before any of it, the outputs are checked (ts/cli/output.ts), the inputs
 * listed (ts/cli/files.ts), and no output may be an input.
 *
 * Every native step runs off the main thread with the run's AbortSignal,
 * so Ctrl-C and --timeout stop it within milliseconds; the JS steps give
 * the event loop a turn every few milliseconds for the same reason. Output
 * files are written to temporary files and renamed only at the very end.
 */
import { MinHashLSHIndex } from '../minhash-lsh.ts';
import { shingleSimilaritiesAsync } from '../shingle-similarity.ts';
import {
  estimateSimilarity, signaturesFromTextsAsync, type SignatureBatch,
} from '../signature.ts';
import { candidateProbability, chooseBands, clusterPairsAsync, type BandChoice } from '../threshold.ts';
import { clustersOfRepresentatives, coverClusters, type Cluster, type Pairs } from './clusters.ts';
import { DEMO_PACKAGE, loadDemoCorpus } from './demo.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { listInputs, standardInputIdentity, type Listing } from './files.ts';
import {
  placeOf, readDocuments, readingUnit, type BadInput, type DocumentSource, type InputDocument,
} from './input.ts';
import type { DedupOptions } from './options.ts';
import { checkOutputs, resolveOutput, type OutputTarget } from './output.ts';
import { Pacer } from './pacer.ts';
import { formatBytes, formatSeconds, plural, scaledProgress, type PhaseReporter } from './progress.ts';
import { clusterLines, keepLines, pairLines, writePhase, type Destinations, type Writable } from './write.ts';

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

interface ReadResult {
  readonly documents: InputDocument[];
  readonly skipped: number;
  readonly subjects: readonly string[] | null;
}

/** Counts the skipped inputs by kind ("binary file", "empty document", ...)
 * for the one line -q prints instead of a line each. */
class SkipCounter {
  readonly #byKind = new Map<string, number>();
  total = 0;

  add(reason: string): void {
    const kind = reason.replace(/ \(.*$/s, '');
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1);
    this.total++;
  }

  summary(): string {
    const kinds = [...this.#byKind].map(([kind, count]) => `${kind}: ${count}`).join(', ');
    return `knowhere-rs: ${plural(this.total, 'input')} skipped (${kinds}); run without -q to see each`;
  }
}

function readDemo(ctx: DedupContext, targets: readonly OutputTarget[]): ReadResult {
  const { reporter } = ctx;
  checkOutputs(targets, new Map());
  reporter.start('reading', 'mails');
  const corpus = loadDemoCorpus();
  ctx.signal.throwIfAborted();
  reporter.end(`${plural(corpus.documents.length, 'mail')} (${formatBytes(totalBytes(corpus.documents))}) ` +
    `from ${DEMO_PACKAGE}`);
  return { documents: corpus.documents, skipped: corpus.skipped, subjects: corpus.subjects };
}

/** Lists the files of the inputs and refuses an output that is one of them
 * (or standard input), before any of them is read. */
async function listPhase(ctx: DedupContext, targets: readonly OutputTarget[],
                         onBadInput: (bad: BadInput) => void): Promise<Listing> {
  const { options, reporter } = ctx;
  reporter.start('listing', 'files');
  const listing = await listInputs({
    inputs: options.inputs, include: options.include, exclude: options.exclude, signal: ctx.signal, onBadInput,
    onProgress: (count) => { reporter.update(count, 0); },
  });
  const inputs = new Map<string, { display: string; named: boolean }>();
  for (const file of listing.all) {
    if (file.identity !== null && !inputs.has(file.identity)) inputs.set(file.identity, file);
  }
  const stdin = options.inputs.includes('-') ? await standardInputIdentity() : null;
  if (stdin !== null) inputs.set(stdin, { display: '- (standard input)', named: true });
  checkOutputs(targets, inputs);
  const aliases = listing.aliases;
  reporter.end(plural(listing.files.length, 'file') +
    (aliases > 0 ? `, ${aliases} more ${aliases === 1 ? 'path' : 'paths'} to the same files` : ''));
  return listing;
}

/** Lists the inputs, refuses outputs that are inputs, reads the documents;
 * a run that read none ends here (exit 66), writing nothing. */
async function readPhase(ctx: DedupContext, targets: readonly OutputTarget[]): Promise<ReadResult> {
  const { options, reporter } = ctx;
  if (options.demo) return readDemo(ctx, targets);
  const skips = new SkipCounter();
  const onBadInput = (bad: BadInput): void => {
    if (options.strict) throw new BadInputError(bad);
    skips.add(bad.reason);
    reporter.message(`knowhere-rs: skipped ${placeOf(bad)}: ${bad.reason}`);
  };
  const listing = await listPhase(ctx, targets, onBadInput);
  reporter.start('reading', readingUnit(options.jsonl));
  const documents = await readDocuments({
    files: listing.files, jsonl: options.jsonl, textField: options.textField, idField: options.idField,
    signal: ctx.signal, stdin: ctx.stdin, onBadInput,
    onProgress: (done, total) => { reporter.update(done, total); },
  });
  reporter.end(`${plural(documents.length, 'document')} (${formatBytes(totalBytes(documents))})` +
    (skips.total > 0 ? `, ${skips.total} skipped` : ''));
  if (options.quiet && skips.total > 0) ctx.stderr.write(`${skips.summary()}\n`);
  if (documents.length === 0) {
    throw new CommandError(`no document to deduplicate${skips.total > 0 ? ` (${plural(skips.total, 'input')} ` +
      'skipped)' : ''}; no output written`, ExitCode.NO_INPUT);
  }
  return { documents, skipped: skips.total, subjects: null };
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
  // The library counts its own units (band entries): shown as documents.
  reporter.start('indexing', 'documents', batch.count);
  const index = new MinHashLSHIndex();
  try {
    index.numThreads = ctx.options.threads;
    await index.buildAsync(batch.values, batch.numHashes, batch.valueBytes, choice.bands, true, {
      signal: ctx.signal,
      onProgress: (p) => { reporter.update(scaledProgress(p.done, p.total, batch.count), batch.count); },
    });
  } catch (error) {
    index.close();
    throw error;
  }
  reporter.end(`${plural(batch.count, 'signature')} in ${choice.bands} bands (${formatBytes(index.memoryUsage)})`);
  return index;
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
  const { reporter, options } = ctx;
  reporter.start('clustering', 'pairs', pairs.count);
  let clusters: Cluster[];
  if (options.clusters === 'cover') {
    clusters = await coverClusters(n, pairs, new Pacer(ctx.signal));
  } else {
    const ids = await clusterPairsAsync(n, BigInt64Array.from(pairs.left.subarray(0, pairs.count), BigInt),
      BigInt64Array.from(pairs.right.subarray(0, pairs.count), BigInt), { signal: ctx.signal });
    clusters = clustersOfRepresentatives(Float64Array.from(ids, Number), null);
  }
  const inClusters = clusters.reduce((sum, c) => sum + c.members.length, 0);
  reporter.end(`${plural(clusters.length, 'cluster')} of 2 or more (${plural(inClusters, 'document')}; ` +
    `${options.clusters === 'cover' ? 'each within the threshold of its representative' : 'connected components'})`);
  return clusters;
}

/** Where the clusters (or pairs) and the keep list go: checked before any
 * work. The clusters go to standard output unless -o is given, or the keep
 * list is there (--keep-first -); --demo writes them only with -o. */
async function destinations(options: DedupOptions): Promise<{ content: OutputTarget | null;
  keep: OutputTarget | null }> {
  const content = options.output !== null ? await resolveOutput('--output', options.output)
    : options.demo || options.keepFirst === '-' ? null : await resolveOutput('--output', '-');
  const keep = options.keepFirst === null ? null : await resolveOutput('--keep-first', options.keepFirst);
  return { content, keep };
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

export async function runDedup(ctx: DedupContext): Promise<DedupSummary> {
  const started = performance.now();
  const { options } = ctx;
  const targets = await destinations(options);
  const { documents, skipped, subjects } = await readPhase(ctx,
    [targets.content, targets.keep].filter((t): t is OutputTarget => t !== null));
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

  // A member's similarity to its representative: the pair's with cover;
  // for components, exact with --verify, else the signature estimate.
  // (Without signatures, n < 2: no clusters.)
  const signatures = batch;
  const exact = options.verify === 'exact' && options.format !== 'pairs-csv' && options.clusters === 'components'
    ? await exactMemberSimilarities(ctx, documents, clusters) : null;
  const similarity = exact !== null || signatures === null
    ? (_: number, member: number): number => exact?.get(member) ?? 1
    : (a: number, b: number): number => estimateSimilarity(signatures.row(a), signatures.row(b));
  const output: Destinations = {
    content: targets.content === null ? null : {
      target: targets.content,
      lines: options.format === 'pairs-csv' ? pairLines(pairs, documents) : clusterLines(clusters, documents, similarity),
    },
    keep: targets.keep === null ? null : { target: targets.keep, lines: keepLines(n, clusters, documents, options.nul) },
  };
  await writePhase(ctx, output);

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
