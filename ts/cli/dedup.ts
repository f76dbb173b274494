/**
 * `knowhere-rs dedup`: documents in, near-duplicate clusters out.
 *
 *   reading     files / JSON Lines / the demo corpus   (ts/cli/input.ts)
 *   hashing     MinHash signatures, multithreaded,     (signaturesFromTextsAsync)
 *               in chunks of CHUNK documents
 *   indexing    the LSH index, with raw signatures,    (MinHashLSHIndex.buildAsync, addAsync)
 *               built chunk by chunk, each chunk let go once added
 *   joining     pairs-csv only: every pair at >= T,    (MinHashLSHIndex.selfJoinEstimateAsync,
 *               refused above --max-pairs              selfJoinAsync)
 *   verifying   pairs-csv with --verify exact          (shingleSimilaritiesAsync)
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
 * The output depends on nothing but the input and the options: not on
 * --threads, the CPU's SIMD level or the run (signatures are defined bit for
 * bit; the clustering's answer is defined by input order, ties broken by
 * the smaller index).
 */
import { MinHashLSHIndex } from '../minhash-lsh.ts';
import { shingleSimilaritiesAsync } from '../shingle-similarity.ts';
import { signaturesFromTextsAsync, type SignatureOptions } from '../signature.ts';
import { candidateProbability, chooseBands, type BandChoice } from '../threshold.ts';
import { clustersOfRepresentatives, type Cluster, type Pairs } from './clusters.ts';
import { DEMO_PACKAGE, loadDemoCorpus } from './demo.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { listInputs, standardInputIdentity, type Listing } from './files.ts';
import {
  placeOf, readDocuments, readingUnit, type BadInput, type DocumentSource, type InputDocument,
} from './input.ts';
import type { DedupOptions } from './options.ts';
import { checkOutputs, resolveOutput, type OutputTarget } from './output.ts';
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
  /** The pairs listed (pairs-csv); null when clusters were made without
   * listing them. */
  readonly pairs: number | null;
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
/** Documents hashed and indexed per step: a chunk's signatures (64 MiB at
 * 128 hashes) are let go once the index holds them. Fewer, larger steps
 * add faster (measured on 10^6 documents: 2.2 s of adds in steps of 2^17,
 * 4.0 s in steps of 2^15). */
const CHUNK = 1 << 16;

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

/** The distinct texts of a chunk, by identity (the reader gives documents
 * that repeat a recent text the same bytes: ts/cli/input.ts), and for each
 * document the index of its text among them (null when all differ). */
function distinctTexts(chunk: readonly InputDocument[]): { texts: Uint8Array[]; copies: Int32Array | null } {
  const position = new Map<Uint8Array, number>();
  const texts: Uint8Array[] = [];
  const copies = new Int32Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) {
    const text = chunk[i]!.text;
    let k = position.get(text);
    if (k === undefined) {
      k = texts.length;
      position.set(text, k);
      texts.push(text);
    }
    copies[i] = k;
  }
  return { texts, copies: texts.length === chunk.length ? null : copies };
}

/** Each document's signature, from those of the distinct texts. */
function expandSignatures(values: Uint32Array, numHashes: number, copies: Int32Array | null): Uint32Array {
  if (copies === null) return values;
  const all = new Uint32Array(copies.length * numHashes);
  for (let i = 0; i < copies.length; i++) {
    all.set(values.subarray(copies[i]! * numHashes, (copies[i]! + 1) * numHashes), i * numHashes);
  }
  return all;
}

/** The signatures' options (4-byte values). */
function signatureOptions(options: DedupOptions): SignatureOptions & { readonly valueBytes: 4 } {
  return {
    numHashes: options.numHashes, shingle: options.shingle.kind, shingleSize: options.shingle.size, valueBytes: 4,
    seed: options.seed,
  };
}

/** A document's text once hashed and no longer needed. */
const RELEASED = new Uint8Array(0);

/**
 * Hashes the documents and indexes their signatures, chunk by chunk: the
 * first chunk builds the index, the others are added, and each chunk's
 * signatures (and, unless --verify needs them again, its texts) are let go
 * once the index holds them, so that neither is ever held twice.
 */
async function indexPhase(ctx: DedupContext, documents: InputDocument[], choice: BandChoice):
  Promise<MinHashLSHIndex> {
  const { options, reporter } = ctx;
  const n = documents.length;
  const keepTexts = options.verify === 'exact';
  reporter.start('indexing', 'documents', n);
  const index = new MinHashLSHIndex();
  let hashingMs = 0;
  try {
    index.numThreads = options.threads;
    // The index records how its signatures were made (a saved index would
    // refuse queries made otherwise: MinHashLSHIndex.checkSignatureScheme).
    index.setSignatureScheme(signatureOptions(options));
    for (let first = 0; first < n; first += CHUNK) {
      const chunk = documents.slice(first, first + CHUNK);
      const started = performance.now();
      const { texts, copies } = distinctTexts(chunk);
      const batch = await signaturesFromTextsAsync(texts, {
        ...signatureOptions(options),
        threads: options.threads,
        signal: ctx.signal,
        onProgress: (p) => { reporter.update(first + p.done, n); },
      });
      const values = expandSignatures(batch.values, options.numHashes, copies);
      hashingMs += performance.now() - started;
      if (!keepTexts) for (const d of chunk) d.text = RELEASED;
      if (first === 0) await index.buildAsync(values, options.numHashes, 4, choice.bands, true, { signal: ctx.signal });
      else await index.addAsync(values, { signal: ctx.signal });
    }
  } catch (error) {
    index.close();
    throw error;
  }
  reporter.end(`${plural(n, 'signature')} of ${options.numHashes} hashes ` +
    `(${options.shingle.kind === 'words' ? 'word' : 'character'} ${options.shingle.size}-shingles, hashed in ` +
    `${formatSeconds(hashingMs)}) in ${choice.bands} bands (${formatBytes(index.memoryUsage)})`);
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

/** The clusters, in the library from the index (without listing the
 * pairs): the greedy cover in input order or the connected components,
 * decided by the signatures' estimate or, with --verify exact, by the exact
 * similarity (the documents are passed along); each member with its
 * similarity to the representative. */
async function clusterPhase(ctx: DedupContext, documents: readonly InputDocument[], index: MinHashLSHIndex):
  Promise<Cluster[]> {
  const { reporter, options } = ctx;
  const n = documents.length;
  reporter.start('clustering', 'documents', n);
  const result = await index.clusterAsync(joinThreshold(options), {
    mode: options.clusters,
    exact: options.verify === 'exact'
      ? { texts: documents.map((d) => d.text), threshold: options.threshold - EPSILON, ...shingleOptions(ctx) }
      : null,
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
  const inputBytes = totalBytes(documents); // before the texts are let go
  const choice = choosePhase(ctx);
  let pairs: Pairs | null = options.format === 'pairs-csv' ? emptyPairs() : null;
  let clusters: Cluster[] = [];
  if (n >= 2) {
    const index = await indexPhase(ctx, documents, choice);
    try {
      if (pairs !== null) {
        pairs = await joinPhase(ctx, index);
        if (options.verify === 'exact' && pairs.count > 0) pairs = await verifyPhase(ctx, documents, pairs);
      }
      clusters = await clusterPhase(ctx, documents, index);
    } finally {
      index.close();
    }
  }

  const output: Destinations = {
    content: targets.content === null ? null : {
      target: targets.content,
      lines: pairs !== null ? pairLines(pairs, documents) : clusterLines(clusters, documents),
    },
    keep: targets.keep === null ? null : { target: targets.keep, lines: keepLines(n, clusters, documents, options.nul) },
  };
  await writePhase(ctx, output);

  const keepCount = n - clusters.reduce((sum, c) => sum + c.members.length - 1, 0);
  return {
    documents: n, skipped, inputBytes, bands: choice, pairs: pairs?.count ?? null, clusters,
    keep: keepCount, totalMs: performance.now() - started, subjects, sources: documents,
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
      lines.push(`    ${String(cluster.members.length).padStart(4)} ${what}s  ${summary.sources[rep]!.name}` +
        (subject ? `  "${subject.length > 60 ? `${subject.slice(0, 57)}...` : subject}"` : ''));
    }
  }
  lines.push(`time: ${times.map((t) => `${t.phase} ${formatSeconds(t.ms)}`).join(', ')}; ` +
    `total ${formatSeconds(summary.totalMs)}`);
  return `${lines.join('\n')}\n`;
}
