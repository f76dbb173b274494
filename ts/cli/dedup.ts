/**
 * `knowhere-rs dedup`: documents in, near-duplicate clusters out.
 *
 *   reading     files / JSON Lines / the demo corpus,  (ts/cli/stream.ts, ingest.ts)
 *               streamed in batches of --batch-bytes;
 *               within it each batch is hashed         (signaturesOfPackedAsync)
 *               and indexed, the first batch building  (MinHashLSHIndex.buildAsync, addAsync)
 *               the index, while the next is read
 *   joining     pairs-csv only: every pair at >= T,    (MinHashLSHIndex.selfJoinEstimateAsync,
 *               refused above --max-pairs              selfJoinAsync)
 *   verifying   pairs-csv with --verify exact: the     (shingleSimilaritiesAsync)
 *               documents of the pairs read again      (ts/cli/corpus.ts, reread.ts)
 *   clustering  greedy cover in input order, or        (MinHashLSHIndex.clusterAsync: in the
 *               connected components, from the index   library, without listing the pairs)
 *   writing     clusters / pairs / keep list           (ts/cli/write.ts, output.ts)
 *
 * Before any of it, the outputs are checked (ts/cli/output.ts), the inputs
 * listed (ts/cli/files.ts), and no output may be an input.
 *
 * Every native step runs off the main thread with the run's AbortSignal,
 * so Ctrl-C and --timeout stop it within milliseconds; the JS steps give
 * the event loop a turn every few milliseconds for the same reason. Output
 * files are written to temporary files and renamed only at the very end.
 *
 * Memory does not follow the corpus: once hashed, a document is its row of
 * the index and its place in its file (docs/cli.md, "Corpora larger than
 * memory"); texts are read again only for verification.
 *
 * The output depends on nothing but the input and the options: not on
 * --threads, the CPU's SIMD level or the run (signatures are defined bit for
 * bit; the clustering's answer is defined by input order, ties broken by
 * the smaller index).
 */
import type { MinHashLSHIndex } from '../minhash-lsh.ts';
import { shingleSimilaritiesAsync } from '../shingle-similarity.ts';
import type { SignatureOptions } from '../signature.ts';
import { candidateProbability, chooseBands, type BandChoice } from '../threshold.ts';
import { clustersOfRepresentatives, type Cluster, type Pairs } from './clusters.ts';
import { FileCorpus, MemoryCorpus, views, type Corpus } from './corpus.ts';
import { DEMO_PACKAGE, loadDemoCorpus } from './demo.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { listInputs, inputIdentities, type Listing } from './files.ts';
import { ingest, type Ingested } from './ingest.ts';
import { readingUnit, type BadInput, type DocumentSource } from './input.ts';
import type { DedupOptions } from './options.ts';
import { checkOutputs, resolveOutput, type OutputTarget } from './output.ts';
import { formatBytes, formatSeconds, plural, scaledProgress, type PhaseReporter } from './progress.ts';
import { SkipCounter, badInputHandler } from './skips.ts';
import { memoryLine } from './stats.ts';
import { DocumentStream, type DocumentBatch } from './stream.ts';
import { clusterLines, keepLines, pairLines, writePhase, type Destinations, type Writable } from './write.ts';

export { BadInputError } from './skips.ts';

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
  /** The pairs listed (pairs-csv); null when clusters were made without
   * listing them. */
  readonly pairs: number | null;
  readonly clusters: readonly Cluster[];
  readonly keep: number;
  readonly totalMs: number;
  /** The Subject of each document (--demo only). */
  readonly subjects: readonly string[] | null;
  readonly source: (i: number) => DocumentSource;
}

/** S-curve points printed with the band choice. */
const CURVE_POINTS = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
/** Exact similarities are compared with this much slack for rounding. */
const EPSILON = 1e-9;

// ---------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------

interface ReadResult {
  /** The documents read (their sources, and their texts again on demand). */
  readonly corpus: Corpus;
  /** Their signatures (null when none was read). */
  readonly index: MinHashLSHIndex | null;
  /** Bytes of text read. */
  readonly inputBytes: number;
  readonly skipped: number;
  readonly subjects: readonly string[] | null;
  /** Bytes of the places kept per document (for --stats). */
  readonly placeBytes: number;
}

/**
 * Reads, hashes and indexes the documents in one streamed pass (ts/cli/
 * ingest.ts), reported as the phase 'reading' with, within it, the time of
 * indexing (and of hashing) recorded as a line of its own.
 */
async function streamedPass(ctx: DedupContext, choice: BandChoice, unit: string, batches: AsyncGenerator<DocumentBatch>,
                            release: ((batch: DocumentBatch) => void) | undefined, total?: number): Promise<Ingested> {
  const { options, reporter } = ctx;
  reporter.start('reading', unit, total);
  return ingest({
    signature: signatureOptions(options), threads: options.threads, bands: choice, signal: ctx.signal, batches,
    release, withIds: options.idField !== null, rawBits: options.rawBits,
  });
}

/** The line of the hashing and indexing that ran within the pass. */
function recordWithin(ctx: DedupContext, ingested: Ingested, choice: BandChoice): void {
  const { options, reporter } = ctx;
  reporter.record('indexing', `${plural(ingested.table.count, 'signature')} of ${options.numHashes} hashes ` +
    `(${options.shingle.kind === 'words' ? 'word' : 'character'} ${options.shingle.size}-shingles, hashed in ` +
    `${formatSeconds(ingested.hashMs)}) in ${choice.bands} bands (${formatBytes(ingested.index?.memoryUsage ?? 0)})`,
  ingested.indexMs);
}

async function readDemo(ctx: DedupContext, targets: readonly OutputTarget[], choice: BandChoice): Promise<ReadResult> {
  const { reporter } = ctx;
  checkOutputs(targets, new Map());
  const demo = loadDemoCorpus();
  ctx.signal.throwIfAborted();
  const corpus = new MemoryCorpus(demo.documents);
  const ingested = await streamedPass(ctx, choice, 'mails', corpus.batches(ctx.options.batchBytes), undefined);
  const inputBytes = demo.documents.reduce((sum, d) => sum + d.text.byteLength, 0);
  reporter.end(`${plural(demo.documents.length, 'mail')} (${formatBytes(inputBytes)}) from ${DEMO_PACKAGE}`);
  recordWithin(ctx, ingested, choice);
  return {
    corpus, index: ingested.index, inputBytes, skipped: demo.skipped, subjects: demo.subjects,
    placeBytes: ingested.table.memoryBytes,
  };
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
  checkOutputs(targets, await inputIdentities(listing.all, options.inputs));
  const aliases = listing.aliases;
  reporter.end(plural(listing.files.length, 'file') +
    (aliases > 0 ? `, ${aliases} more ${aliases === 1 ? 'path' : 'paths'} to the same files` : ''));
  return listing;
}

/** Lists the inputs, refuses outputs that are inputs, then reads, hashes
 * and indexes the documents in one pass; a run that read none ends here
 * (exit 66), writing nothing. */
async function readPhase(ctx: DedupContext, targets: readonly OutputTarget[], choice: BandChoice):
  Promise<ReadResult> {
  const { options, reporter } = ctx;
  if (options.demo) return readDemo(ctx, targets, choice);
  const skips = new SkipCounter();
  const onBadInput = badInputHandler(options, reporter, skips);
  const listing = await listPhase(ctx, targets, onBadInput);
  const stream = new DocumentStream({
    files: listing.files, jsonl: options.jsonl, textField: options.textField, idField: options.idField,
    maxDocumentBytes: options.maxDocumentBytes, batchBytes: options.batchBytes, signal: ctx.signal, stdin: ctx.stdin,
    onBadInput, onProgress: (done, total) => { reporter.update(done, total); },
    // Standard input and FIFOs are kept for the second pass of --verify.
    spool: options.verify === 'exact',
  });
  const ingested = await streamedPass(ctx, choice, readingUnit(options.jsonl), stream.batches(),
    (batch) => { stream.release(batch); });
  const n = ingested.table.count;
  reporter.end(`${plural(n, 'document')} (${formatBytes(stream.textBytes)})` +
    (skips.total > 0 ? `, ${skips.total} skipped` : ''));
  if (options.quiet && skips.total > 0) ctx.stderr.write(`${skips.summary()}\n`);
  if (n === 0) {
    throw new CommandError(`no document to deduplicate${skips.total > 0 ? ` (${plural(skips.total, 'input')} ` +
      'skipped)' : ''}; no output written`, ExitCode.NO_INPUT);
  }
  recordWithin(ctx, ingested, choice);
  const corpus = new FileCorpus({
    files: listing.files, table: ingested.table, stream, jsonl: options.jsonl, textField: options.textField,
    idField: options.idField,
  });
  return {
    corpus, index: ingested.index, inputBytes: stream.textBytes, skipped: skips.total, subjects: null,
    placeBytes: ingested.table.memoryBytes,
  };
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

/** The signatures' options (4-byte values). */
function signatureOptions(options: DedupOptions): SignatureOptions & { readonly valueBytes: 4 } {
  return {
    numHashes: options.numHashes, shingle: options.shingle.kind, shingleSize: options.shingle.size, valueBytes: 4,
    seed: options.seed,
  };
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

/** Refuses a pairs-csv that would list more than --max-pairs pairs, before
 * the join makes them: the count comes from the index's band tables
 * (exact for few candidates, else estimated from a sample). */
async function checkPairCount(ctx: DedupContext, index: MinHashLSHIndex, threshold: number): Promise<void> {
  const { maxPairs } = ctx.options;
  const estimate = await index.selfJoinEstimateAsync(threshold, { signal: ctx.signal });
  if (estimate.pairs <= maxPairs) return;
  throw new CommandError(`--format pairs-csv would list about ${estimate.pairs} pairs, more than --max-pairs ` +
    `${maxPairs}; the default --format clusters-jsonl (or --keep-first) groups them without listing them, or ` +
    'raise --max-pairs; no output written', ExitCode.FAILURE);
}

async function joinPhase(ctx: DedupContext, index: MinHashLSHIndex): Promise<Pairs> {
  const { reporter, options } = ctx;
  const threshold = joinThreshold(options);
  reporter.start('joining', 'signatures', index.count);
  await checkPairCount(ctx, index, threshold);
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

/** The texts of the documents in `ids`, read again (ts/cli/corpus.ts), as
 * views by position, and each id's position among them. */
async function textsOf(ctx: DedupContext, corpus: Corpus, ids: ArrayLike<number>):
  Promise<{ texts: Uint8Array[]; position: (id: number) => number }> {
  const read = await corpus.texts(ids, ctx.signal, (done, total) => { ctx.reporter.update(done, total); });
  const position = new Map<number, number>();
  read.ids.forEach((id, k) => { position.set(id, k); });
  return { texts: views(read), position: (id) => position.get(id)! };
}

/** Keeps the pairs whose exact Jaccard similarity (in C: each document in a
 * pair shingled once, the pairs merged on every thread) reaches T. Only the
 * documents of the pairs are read again, file by file. */
async function verifyPhase(ctx: DedupContext, corpus: Corpus, pairs: Pairs): Promise<Pairs> {
  const { reporter, options } = ctx;
  reporter.start('verifying', 'documents', pairs.count);
  const left = pairs.left.subarray(0, pairs.count);
  const right = pairs.right.subarray(0, pairs.count);
  const { texts, position } = await textsOf(ctx, corpus, [...left, ...right]);
  const at = (side: Int32Array): BigInt64Array => BigInt64Array.from(side, (id) => BigInt(position(id)));
  reporter.start('verifying', 'documents and pairs');
  const exact = await shingleSimilaritiesAsync(texts, at(left), at(right), {
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

/** The documents that share a band with another at a signature
 * similarity of at least `threshold` (in a connected component of two or
 * more): the only ones an exact check ever compares. */
async function candidates(ctx: DedupContext, index: MinHashLSHIndex, threshold: number): Promise<number[]> {
  const components = await index.clusterAsync(threshold, { mode: 'components', similarities: false,
    signal: ctx.signal });
  const inComponent = new Uint8Array(components.count);
  for (let v = 0; v < components.count; v++) {
    const r = Number(components.representatives[v]);
    if (r !== v) inComponent[v] = inComponent[r] = 1;
  }
  const ids: number[] = [];
  for (let v = 0; v < inComponent.length; v++) if (inComponent[v] === 1) ids.push(v);
  return ids;
}

/** The clusters, in the library from the index (without listing the
 * pairs): the greedy cover in input order or the connected components,
 * decided by the signatures' estimate or, with --verify exact, by the exact
 * similarity (the documents that can be compared are read again and passed
 * along, the others as empty texts); each member with its similarity to the
 * representative. */
async function clusterPhase(ctx: DedupContext, corpus: Corpus, index: MinHashLSHIndex): Promise<Cluster[]> {
  const { reporter, options } = ctx;
  const n = corpus.count;
  const threshold = joinThreshold(options);
  let texts: Uint8Array[] | null = null;
  if (options.verify === 'exact') {
    reporter.start('rereading', 'documents');
    const ids = await candidates(ctx, index, threshold);
    const read = await textsOf(ctx, corpus, ids);
    texts = new Array<Uint8Array>(n).fill(NO_TEXT);
    for (const id of ids) texts[id] = read.texts[read.position(id)]!;
    reporter.end(`${plural(ids.length, 'candidate document')} read again`);
  }
  reporter.start('clustering', 'documents', n);
  const result = await index.clusterAsync(threshold, {
    mode: options.clusters,
    exact: texts !== null ? { texts, threshold: options.threshold - EPSILON, ...shingleOptions(ctx) } : null,
    signal: ctx.signal,
    onProgress: (p) => { reporter.update(scaledProgress(p.done, p.total, n), n); },
  });
  // Similarities were asked for (the default): never null here.
  const clusters = clustersOfRepresentatives(Int32Array.from(result.representatives, Number), result.similarities!);
  const inClusters = clusters.reduce((sum, c) => sum + c.members.length, 0);
  reporter.end(`${plural(clusters.length, 'cluster')} of 2 or more (${plural(inClusters, 'document')}; ` +
    `${options.clusters === 'cover' ? 'each within the threshold of its representative' : 'connected components'})`);
  return clusters;
}

/** The text given for a document no exact check compares. */
const NO_TEXT = new Uint8Array(0);

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
  const choice = choosePhase(ctx);
  const read = await readPhase(ctx, [targets.content, targets.keep].filter((t): t is OutputTarget => t !== null),
    choice);
  const { corpus, index } = read;
  const n = corpus.count;
  const indexBytes = index?.memoryUsage ?? 0;
  let pairs: Pairs | null = options.format === 'pairs-csv' ? emptyPairs() : null;
  let clusters: Cluster[] = [];
  try {
    if (index !== null && n >= 2) {
      if (pairs !== null) {
        pairs = await joinPhase(ctx, index);
        if (options.verify === 'exact' && pairs.count > 0) pairs = await verifyPhase(ctx, corpus, pairs);
      }
      clusters = await clusterPhase(ctx, corpus, index);
    }
  } finally {
    index?.close();
  }

  const source = (i: number): DocumentSource => corpus.source(i);
  const output: Destinations = {
    content: targets.content === null ? null : {
      target: targets.content,
      lines: pairs !== null ? pairLines(pairs, source) : clusterLines(clusters, source),
    },
    keep: targets.keep === null ? null : { target: targets.keep, lines: keepLines(n, clusters, source, options.nul) },
  };
  await writePhase(ctx, output);
  if (options.stats) {
    ctx.stderr.write(`knowhere-rs: ${memoryLine({ documents: n, indexBytes, placeBytes: read.placeBytes })}\n`);
  }

  const keepCount = n - clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
  return {
    documents: n, skipped: read.skipped, inputBytes: read.inputBytes, bands: choice, pairs: pairs?.count ?? null,
    clusters, keep: keepCount, totalMs: performance.now() - started, subjects: read.subjects, source,
  };
}

function emptyPairs(): Pairs {
  return { left: new Int32Array(0), right: new Int32Array(0), similarity: new Float64Array(0), count: 0 };
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
    `  ${summary.pairs === null ? '' : `${plural(summary.pairs, 'pair')}, `}` +
      `${plural(summary.clusters.length, 'cluster')} holding ` +
      `${plural(inClusters, what)}; ${plural(summary.keep, what)} to keep`,
  ];
  if (largest.length > 0) {
    lines.push('  largest clusters:');
    for (const cluster of largest) {
      const rep = cluster.representative;
      const subject = summary.subjects?.[rep];
      lines.push(`    ${String(cluster.members.length).padStart(4)} ${what}s  ${summary.source(rep).name}` +
        (subject ? `  "${subject.length > 60 ? `${subject.slice(0, 57)}...` : subject}"` : ''));
    }
  }
  lines.push(`time: ${times.map((t) => `${t.phase} ${formatSeconds(t.ms)}`).join(', ')}; ` +
    `total ${formatSeconds(summary.totalMs)}`);
  return `${lines.join('\n')}\n`;
}
