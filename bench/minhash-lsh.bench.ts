/**
 * `npm run bench`: the project's benchmark, in three steps.
 *
 *  1. Builds the C benchmark (bench/minhash_lsh_bench.c) and its own copy of
 *     the library in build-bench/ (Release), and runs it: build, add, single
 *     and batch search, memory, interrupt latency and overhead at n = 100k
 *     and 1M (--quick: 100k).
 *  2. Through the TypeScript binding, on that same library file: build,
 *     single search and batch search, on Uint32Array signatures; the
 *     signatures of the very documents signature_bench timed in step 1; the
 *     binding's per-call cost piece by piece (bench/binding-cost.ts); and
 *     each binding figure next to its C counterpart from step 1 and its
 *     target (issue 14: single calls within 1.5x of C, batches 1.1x).
 *  3. The npm package `minhash` (0.0.9, its LshIndex) on the SAME signatures
 *     and queries as step 2, as the baseline: insert and query per document,
 *     recall, and the ratios ours / baseline.
 *
 * Workload everywhere: random signatures of 128 values of 4 bytes, 16 bands of
 * 8 values (minhash's bandSize 8); queries are stored rows with each value
 * kept with probability 0.8, k = 10, raw data kept (so search verifies).
 *
 *   npm run bench                      everything (about 8 minutes on 2 cores)
 *   npm run bench -- --quick           n = 100k in C, 10k documents for minhash
 *   npm run bench -- --skip-c          steps 2 and 3 only
 *   npm run bench -- --baseline-n 10k,100k   document counts for steps 2 and 3
 *   npm run bench -- --json FILE       all numbers (default build-bench/bench-results.json)
 *   other options (--n, --threads, --queries, --latency-points,
 *   --overhead-pairs, --seed) go to the C benchmark.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

import { measureBindingCost } from './binding-cost.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build-bench');

const LENGTH = 128;
const ELEMENT = 4;
const BANDS = 16;
const BAND_SIZE = LENGTH / BANDS; // minhash's bandSize
const K = 10;
const AGREEMENT = 0.8;
const NQ = 10_000;
const THEORY_RECALL = 1 - (1 - AGREEMENT ** BAND_SIZE) ** BANDS;

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (m === null) throw new Error(`bad count: ${text}`);
  const scale = m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1;
  return Math.round(Number(m[1]) * scale);
}

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
let skipC = false;
let skipTs = false;
let jsonPath = path.join(buildDir, 'bench-results.json');
let baselineNs = quick ? [10_000] : [10_000, 100_000];
const cArgs: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] ?? '';
  const next = (): string => {
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    return v;
  };
  if (a === '--skip-c') skipC = true;
  else if (a === '--skip-ts') skipTs = true;
  else if (a === '--json') jsonPath = path.resolve(next());
  else if (a === '--baseline-n') baselineNs = next().split(',').map(parseCount);
  else if (a === '--quick') cArgs.push(a);
  else if (a === '--help' || a === '-h') {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    process.exit(0);
  } else if (a.startsWith('--')) cArgs.push(a, next());
  else throw new Error(`unknown argument ${a}`);
}

// ---------------------------------------------------------------------------
// Small tools
// ---------------------------------------------------------------------------

const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return NaN;
  return n % 2 ? (v[(n - 1) / 2] ?? NaN) : ((v[n / 2 - 1] ?? NaN) + (v[n / 2] ?? NaN)) / 2;
}

function quantile(values: readonly number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.round(q * (v.length - 1))] ?? NaN;
}

/** CPU seconds used by the whole machine so far (Linux /proc/stat; NaN
 * elsewhere), to tell how many CPUs other processes kept busy. */
const clockTicks = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const v = Number(r.stdout?.trim());
  return Number.isFinite(v) && v > 0 ? v : 100;
})();

function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / clockTicks;
  } catch {
    return NaN;
  }
}

/** Starts a measurement of other processes' load; the returned function
 * gives the average number of CPUs they kept busy since. */
function otherLoad(): () => number {
  const wall = nowNs();
  const self = process.cpuUsage();
  const machine = machineBusySeconds();
  return () => {
    const seconds = (nowNs() - wall) / 1e9;
    const used = process.cpuUsage(self);
    const other = machineBusySeconds() - machine - (used.user + used.system) / 1e6;
    return seconds > 0 ? Math.max(0, other / seconds) : NaN;
  };
}

/** splitmix32: fast, deterministic. */
function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e4 ? `${(ns / 1e3).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
}

function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return '-';
  return r >= 1 ? `${r.toFixed(2)}x` : `${r.toFixed(3)}x (1/${(1 / r).toFixed(1)})`;
}

function table(title: string, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function run(command: string, args: readonly string[], env: Record<string, string> = {}): void {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v} `).join('');
  console.log(`$ ${vars}${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} exited with ${String(result.status ?? result.signal)}`);
}

function onPath(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

// ---------------------------------------------------------------------------
// Step 1: the C benchmark
// ---------------------------------------------------------------------------

function buildCBench(): string {
  mkdirSync(buildDir, { recursive: true });
  if (!existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
    run('cmake', [
      '-S', root, '-B', buildDir, ...(onPath('ninja') ? ['-G', 'Ninja'] : []),
      '-DCMAKE_BUILD_TYPE=Release', '-DKNOWHERE_BUILD_TESTS=OFF', '-DKNOWHERE_BUILD_EXAMPLES=OFF',
    ]);
  }
  run('cmake', ['--build', buildDir, '--target', 'minhash_lsh_bench', 'signature_bench', 'raw_codes_bench',
    '--parallel', String(os.availableParallelism())]);
  const exe = path.join(buildDir, 'bench', 'minhash_lsh_bench');
  if (!existsSync(exe)) throw new Error(`${exe} was not built`);
  return exe;
}

interface CLatency {
  points: number; interrupted: number; p50_us: number; p90_us: number; max_us: number;
  uninterrupted_ms: number; other_load_cpus: number;
}
interface COverhead { pairs: number; cpu_pct: number; cpu_pct_iqr: number[]; wall_pct: number; wall_pct_iqr: number[] }
interface CThreads {
  threads: number;
  build_ns_per_signature: { raw: number; no_raw: number };
  add_ns_per_signature: { raw: number; no_raw: number };
  batch_search_ns_per_query: { raw: number; no_raw: number };
}
interface CResult {
  n: number;
  single_search_ns: { median: number; mean: number; p99: number };
  recall_single: number;
  memory_bytes_per_signature: { raw: number; no_raw: number; rss_delta_raw: number; rss_delta_no_raw: number };
  by_threads: CThreads[];
  interrupt_overhead: { build: COverhead; batch_search: COverhead };
  interrupt_latency?: { build: CLatency; control_build: CLatency; batch_search: CLatency; control_batch_search: CLatency };
}
interface CReport { sections?: string[]; results: CResult[] }

function runCBench(): CReport {
  const exe = buildCBench();
  const out = path.join(buildDir, 'minhash_lsh_bench.json');
  run(exe, [...cArgs, '--json', out]);
  return JSON.parse(readFileSync(out, 'utf8')) as CReport;
}

// ---------------------------------------------------------------------------
// Steps 2 and 3: the binding and the npm `minhash` baseline
// ---------------------------------------------------------------------------

/** The part of npm minhash 0.0.9 used here (it ships no types). Its LshIndex
 * reads only `hashvalues` of a MinHash (and caches `hashbands` on it), so our
 * signatures are fed as plain objects { hashvalues: number[] }. */
interface MinHashLike { hashvalues: number[]; hashbands?: string[] }
interface LshIndexLike {
  index: Record<string, unknown[] | undefined>;
  insert(key: number, minhash: MinHashLike): void;
  query(minhash: MinHashLike): string[];
  getHashbands(minhash: MinHashLike): string[];
}
type LshIndexCtor = new (args: { bandSize: number }) => LshIndexLike;

const minhashPackage = createRequire(import.meta.url)('minhash') as { LshIndex: LshIndexCtor };
const minhashVersion = (JSON.parse(readFileSync(path.join(root, 'node_modules', 'minhash', 'package.json'), 'utf8')) as { version: string }).version;

/** npm minhash's query throws a TypeError as soon as a band of the query was
 * never inserted (this.index[band] is undefined), which a near-duplicate
 * query nearly always has. This is its own code with that one guard added. */
function patchedQuery(lsh: LshIndexLike, minhash: MinHashLike): string[] {
  const matches: Record<string, boolean> = {};
  const hashbands = lsh.getHashbands(minhash);
  for (let i = 0; i < hashbands.length; i++) {
    const bucket = lsh.index[hashbands[i] ?? ''];
    if (bucket === undefined) continue;
    for (let j = 0; j < bucket.length; j++) matches[String(bucket[j])] = true;
  }
  return Object.keys(matches);
}

interface Workload { n: number; data: Uint32Array; queries: Uint32Array; sources: Int32Array }

function makeWorkload(n: number, seed: number): Workload {
  const rng = makeRng(seed);
  const data = new Uint32Array(n * LENGTH);
  for (let i = 0; i < data.length; i++) data[i] = rng();
  const queries = new Uint32Array(NQ * LENGTH);
  const sources = new Int32Array(NQ);
  const keep = Math.floor(AGREEMENT * 2 ** 32);
  for (let q = 0; q < NQ; q++) {
    const src = rng() % n;
    sources[q] = src;
    for (let i = 0; i < LENGTH; i++) {
      const v = data[src * LENGTH + i] ?? 0;
      let w = v;
      if (rng() >= keep) while (w === v) w = rng();
      queries[q * LENGTH + i] = w;
    }
  }
  return { n, data, queries, sources };
}

function docs(array: Uint32Array, count: number): MinHashLike[] {
  const out: MinHashLike[] = new Array<MinHashLike>(count);
  for (let i = 0; i < count; i++) out[i] = { hashvalues: Array.from(array.subarray(i * LENGTH, (i + 1) * LENGTH)) };
  return out;
}

interface OursResult {
  n: number; threads: number; other_load_cpus: number;
  build_ns_per_signature: { one_thread: number; all_cores: number };
  single_search_ns: { median: number; mean: number; p99: number };
  batch_search_ns_per_query: { one_thread: number; all_cores: number };
  recall_single: number; recall_batch: number;
  memory_bytes_per_signature: number;
}
interface BaselineResult {
  n: number; insert_reps: number; queries: number; other_load_cpus: number;
  insert_ns_per_doc: number;
  query_ns: { median: number; mean: number; p99: number };
  recall: number;
  shipped_query_throws: number;
  heap_bytes_per_doc: number;
}

type Binding = typeof import('../ts/index.ts');

function measureOurs(binding: Binding, w: Workload): OursResult {
  const { MinHashLSHIndex } = binding;
  const load = otherLoad();
  const n = w.n;
  const timeBuild = (threads: number): number => {
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const index = new MinHashLSHIndex();
      index.numThreads = threads;
      gc();
      const t0 = nowNs();
      index.build(w.data, LENGTH, ELEMENT, BANDS, true);
      times.push(nowNs() - t0);
      index.close();
    }
    return median(times) / n;
  };
  const buildOne = timeBuild(1);
  const buildAll = timeBuild(0);

  const index = new MinHashLSHIndex();
  index.build(w.data, LENGTH, ELEMENT, BANDS, true);
  const threads = index.numThreads;
  const memory = index.memoryUsage / n;
  // The query views are made before the clock starts, as C indexes its
  // array; the per-call clock is performance.now() (a double), whose cost
  // is close to C's clock_gettime, not hrtime.bigint() (a BigInt each).
  const views = Array.from({ length: NQ }, (_, q) => w.queries.subarray(q * LENGTH, (q + 1) * LENGTH));
  const query = (q: number): Uint32Array => views[q] as Uint32Array;

  // Single search: three passes (mean per call), then one pass timing each call.
  let found = 0;
  for (let q = 0; q < NQ; q++) index.search(query(q), K); // warm-up
  const passes: number[] = [];
  for (let p = 0; p < 3; p++) {
    const t0 = nowNs();
    for (let q = 0; q < NQ; q++) index.search(query(q), K);
    passes.push((nowNs() - t0) / NQ);
  }
  const each: number[] = new Array<number>(NQ);
  for (let q = 0; q < NQ; q++) {
    const t0 = performance.now();
    const res = index.search(query(q), K);
    each[q] = (performance.now() - t0) * 1e6;
    if (res.ids.includes(BigInt(w.sources[q] ?? -1))) found++;
  }
  const recallSingle = found / NQ;

  const timeBatch = (threads: number): { perQuery: number; recall: number } => {
    index.numThreads = threads;
    index.batchSearch(w.queries, NQ, K); // warm-up
    const times: number[] = [];
    let recall = 0;
    for (let r = 0; r < 5; r++) {
      const t0 = nowNs();
      const res = index.batchSearch(w.queries, NQ, K);
      times.push(nowNs() - t0);
      if (r === 0) {
        let hits = 0;
        for (let q = 0; q < NQ; q++) if (res.row(q).ids.includes(BigInt(w.sources[q] ?? -1))) hits++;
        recall = hits / NQ;
      }
    }
    return { perQuery: median(times) / NQ, recall };
  };
  const batchOne = timeBatch(1);
  const batchAll = timeBatch(0);
  index.close();
  return {
    n, threads, other_load_cpus: load(),
    build_ns_per_signature: { one_thread: buildOne, all_cores: buildAll },
    single_search_ns: { median: median(each), mean: median(passes), p99: quantile(each, 0.99) },
    batch_search_ns_per_query: { one_thread: batchOne.perQuery, all_cores: batchAll.perQuery },
    recall_single: recallSingle, recall_batch: batchAll.recall,
    memory_bytes_per_signature: memory,
  };
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function measureBaseline(w: Workload): BaselineResult {
  const { LshIndex } = minhashPackage;
  const load = otherLoad();
  const n = w.n;
  // Inserts, each run on fresh MinHash objects (the index caches its band
  // strings on them): 3 runs, 2 above 50k documents (minhash is slow). The
  // first also measures memory: the heap with the index, minus the heap once
  // the index and the cached band strings are dropped.
  const reps = n > 50_000 ? 2 : 3;
  const inserts: number[] = [];
  let lsh: LshIndexLike | null = null;
  let heapPerDoc = NaN;
  for (let r = 0; r < reps; r++) {
    lsh = null;
    const objects = docs(w.data, n);
    gc();
    let index: LshIndexLike | null = new LshIndex({ bandSize: BAND_SIZE });
    const t0 = nowNs();
    for (let i = 0; i < n; i++) index.insert(i, objects[i] as MinHashLike);
    inserts.push((nowNs() - t0) / n);
    if (r === 0) {
      const withIndex = heapUsed();
      index = null;
      for (const o of objects) delete o.hashbands;
      heapPerDoc = (withIndex - heapUsed()) / n;
    } else {
      lsh = index;
    }
  }
  if (lsh === null) throw new Error('no baseline index');

  // The query as shipped: how many of our queries make it throw.
  let throws = 0;
  for (const doc of docs(w.queries, NQ)) {
    try {
      lsh.query(doc);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throws++;
    }
  }

  // Timing and recall with the guarded query: 3 passes on fresh objects.
  const passes: number[] = [];
  for (let p = 0; p < 3; p++) {
    const objects = docs(w.queries, NQ);
    gc();
    const t0 = nowNs();
    for (let q = 0; q < NQ; q++) patchedQuery(lsh, objects[q] as MinHashLike);
    passes.push((nowNs() - t0) / NQ);
  }
  const objects = docs(w.queries, NQ);
  const each: number[] = new Array<number>(NQ);
  let found = 0;
  for (let q = 0; q < NQ; q++) {
    const t0 = nowNs();
    const keys = patchedQuery(lsh, objects[q] as MinHashLike);
    each[q] = nowNs() - t0;
    if (keys.includes(String(w.sources[q]))) found++;
  }
  return {
    n, insert_reps: reps, queries: NQ, other_load_cpus: load(),
    insert_ns_per_doc: median(inserts),
    query_ns: { median: median(each), mean: median(passes), p99: quantile(each, 0.99) },
    recall: found / NQ,
    shipped_query_throws: throws / NQ,
    heap_bytes_per_doc: heapPerDoc,
  };
}

/** The binding's signatures of signature_bench's documents (--docs-out),
 * measured as it measures C: CPU time per document for single calls,
 * medians of 9 repetitions; wall time for the batch on every core. */
interface TsSignatureResult {
  words: number; docs: number; from_string_us: number; from_bytes_us: number; batch_all_cores_us: number;
  texts: string[];
}

function readDocs(file: string): Buffer[] {
  const raw = readFileSync(file);
  const count = Number(raw.readBigUInt64LE(0));
  const offsets = Array.from({ length: count + 1 }, (_, i) => Number(raw.readBigUInt64LE(8 + 8 * i)));
  const base = 8 * (count + 2);
  return Array.from({ length: count }, (_, i) => raw.subarray(base + (offsets[i] ?? 0), base + (offsets[i + 1] ?? 0)));
}

function measureTsSignatures(binding: Binding): TsSignatureResult[] {
  const results: TsSignatureResult[] = [];
  for (const words of [100, 1000]) {
    const file = `${signatureDocsPrefix}-${words}.bin`;
    if (!existsSync(file)) continue;
    const bytes = readDocs(file);
    const texts = bytes.map((b) => b.toString('utf8'));
    const perDoc = (f: (i: number) => void): number => {
      for (let i = 0; i < texts.length; i++) f(i); // warm-up
      const reps: number[] = [];
      for (let r = 0; r < 9; r++) {
        const start = process.cpuUsage();
        for (let i = 0; i < texts.length; i++) f(i);
        const used = process.cpuUsage(start);
        reps.push((used.user + used.system) / texts.length);
      }
      return median(reps);
    };
    const fromString = perDoc((i) => { binding.signatureFromText(texts[i] as string); });
    const fromBytes = perDoc((i) => { binding.signatureFromText(bytes[i] as Uint8Array); });
    binding.signaturesFromTexts(texts);
    const batch: number[] = [];
    for (let r = 0; r < 9; r++) {
      const t0 = nowNs();
      binding.signaturesFromTexts(texts);
      batch.push((nowNs() - t0) / 1000 / texts.length);
    }
    results.push({ words, docs: texts.length, from_string_us: fromString, from_bytes_us: fromBytes,
      batch_all_cores_us: median(batch), texts });
  }
  return results;
}

/** The binding's single and batch searches (1 thread, all cores) on `w`,
 * measured as minhash_lsh_bench measures C's: wall time, medians. */
function measureTsSearch(binding: Binding, w: Workload):
  { median: number; mean: number; batchOne: number; batchAll: number; threads: number } {
  const index = new binding.MinHashLSHIndex();
  index.build(w.data, LENGTH, ELEMENT, BANDS, true);
  const views = Array.from({ length: NQ }, (_, q) => w.queries.subarray(q * LENGTH, (q + 1) * LENGTH));
  for (let q = 0; q < NQ; q++) index.search(views[q] as Uint32Array, K); // warm-up
  const t0 = nowNs();
  for (let q = 0; q < NQ; q++) index.search(views[q] as Uint32Array, K);
  const mean = (nowNs() - t0) / NQ;
  const each = new Array<number>(NQ);
  for (let q = 0; q < NQ; q++) {
    const a = performance.now();
    index.search(views[q] as Uint32Array, K);
    each[q] = (performance.now() - a) * 1e6;
  }
  const batch = (threads: number): number => {
    index.numThreads = threads;
    index.batchSearch(w.queries, NQ, K);
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const b = nowNs();
      index.batchSearch(w.queries, NQ, K);
      times.push((nowNs() - b) / NQ);
    }
    return median(times);
  };
  const batchOne = batch(1);
  const batchAll = batch(0);
  const threads = index.numThreads;
  index.close();
  return { median: median(each), mean, batchOne, batchAll, threads };
}

/**
 * Each binding figure next to its C counterpart and the target of issue
 * 14, measured in turns: C (minhash_lsh_bench --only search at 100k;
 * signature_bench on real English), then the binding on the same kind of
 * data (the very documents for signatures), three times, so that the load
 * of a shared machine falls on both alike; medians of the three.
 */
function printBindingOverhead(binding: Binding): void {
  const cSearch: CResult[] = [];
  const tsSearch: ReturnType<typeof measureTsSearch>[] = [];
  const cSign: SignatureReport[] = [];
  const tsSign: TsSignatureResult[][] = [];
  const w = makeWorkload(100_000, 7 + 100_000);
  const quiet: SpawnSyncOptions = { stdio: ['ignore', 'ignore', 'inherit'] };
  for (let round = 0; round < 3; round++) {
    console.log(`binding vs C, round ${round + 1} of 3`);
    const searchJson = path.join(buildDir, 'binding-vs-c-search.json');
    const c = spawnSync(path.join(buildDir, 'bench', 'minhash_lsh_bench'),
      ['--only', 'search', '--n', '100000', '--json', searchJson], quiet);
    if (c.status === 0) cSearch.push(...(JSON.parse(readFileSync(searchJson, 'utf8')) as CReport).results);
    tsSearch.push(measureTsSearch(binding, w));
    const signJson = path.join(buildDir, 'binding-vs-c-signatures.json');
    const sg = spawnSync(path.join(buildDir, 'bench', 'signature_bench'),
      ['--no-synthetic', '--reps', '5', '--json', signJson, '--docs-out', signatureDocsPrefix], quiet);
    if (sg.status === 0) cSign.push(JSON.parse(readFileSync(signJson, 'utf8')) as SignatureReport);
    tsSign.push(measureTsSignatures(binding));
  }
  const rows: string[][] = [];
  const row = (what: string, ts: number[], c: number[], target: number, unit: 'ns' | 'us'): void => {
    if (ts.length === 0 || c.length === 0) return;
    const scale = unit === 'us' ? 1000 : 1;
    const t = median(ts);
    const cv = median(c);
    const ratio = t / cv;
    rows.push([what, fmtNs(t * scale), fmtNs(cv * scale), fmtRatio(ratio), `<= ${target}x`,
      ratio <= target ? 'met' : 'MISSED']);
  };
  row('single search, k = 10, 100k, median', tsSearch.map((r) => r.median),
    cSearch.map((r) => r.single_search_ns.median), 1.5, 'ns');
  row('single search, k = 10, 100k, mean', tsSearch.map((r) => r.mean), cSearch.map((r) => r.single_search_ns.mean),
    1.5, 'ns');
  row('batch search / query, 1 thread', tsSearch.map((r) => r.batchOne),
    cSearch.map((r) => r.by_threads.find((t) => t.threads === 1)?.batch_search_ns_per_query.raw ?? NaN)
      .filter(Number.isFinite), 1.1, 'ns');
  const threads = tsSearch[0]?.threads ?? 0;
  row(`batch search / query, ${threads} threads`, tsSearch.map((r) => r.batchAll),
    cSearch.map((r) => r.by_threads.find((t) => t.threads === threads)?.batch_search_ns_per_query.raw ?? NaN)
      .filter(Number.isFinite), 1.1, 'ns');
  for (const words of [100, 1000]) {
    const c = (measure: string): number[] => cSign.map((r) =>
      r.rows.find((x) => x.text === 'real English' && x.words === words && x.measure === measure)?.us ?? NaN)
      .filter(Number.isFinite);
    const ts = (pick: (r: TsSignatureResult) => number): number[] =>
      tsSign.map((rs) => rs.find((r) => r.words === words)).filter((r) => r !== undefined).map(pick);
    row(`signatureFromText(string), ${words} words of real English`, ts((r) => r.from_string_us), c('from_text'),
      1.5, 'us');
    row(`signatureFromText(Uint8Array), ${words} words`, ts((r) => r.from_bytes_us), c('from_text'), 1.5, 'us');
    row(`signaturesFromTexts / document, ${words} words, all cores`, ts((r) => r.batch_all_cores_us),
      c('batch_text'), 1.1, 'us');
  }
  report['binding_vs_c'] = { c_search: cSearch, ts_search: tsSearch, c_signatures: cSign,
    ts_signatures: tsSign.map((rs) => rs.map(({ texts: _texts, ...r }) => r)) };
  table('The binding vs C, measured in turns (3 rounds, medians; issue 14: single calls within 1.5x of C, ' +
    'batches within 1.1x; signatures: CPU time of the calling thread in both, batches wall time; searches: ' +
    'wall time in both, different random signatures of the same shape)',
  ['', 'TypeScript', 'C', 'TS / C', 'target', ''], rows);
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
  },
};

/** signature_bench --json (bench/signature_bench.c). */
interface SignatureReport {
  simd: string;
  corpus: string;
  bounds: { read_gb_s: number; xxh3_17_ns: number; xxh3_17_chain_ns: number; min_pass_ns: number };
  rows: {
    text: string; words: number; mean_bytes: number; mean_shingles: number; measure: string; us: number;
    target_us: number; bound_us: number;
  }[];
}
const SIMD_LEVELS = ['best', 'avx512', 'avx2', 'scalar'] as const;
/** signature_bench --docs-out: its real-English documents, for step 2. */
const signatureDocsPrefix = path.join(buildDir, 'signature-docs');
const signatureReports: SignatureReport[] = [];

/** Bytes per signature with 8-bit codes and with full values, by n and band
 * count, from raw_codes_bench's tables ("== n = N" then rows "bands no-raw
 * full 16-bit 8-bit"). */
interface RawCodesRow { n: number; bands: number; full: number; bits16: number; bits8: number }
let rawCodesMemory: RawCodesRow[] = [];
function parseRawCodesMemory(out: string): RawCodesRow[] {
  const rows: RawCodesRow[] = [];
  let n = 0;
  for (const line of out.split('\n')) {
    const header = /^== n = (\d+)/.exec(line);
    if (header) n = Number(header[1]);
    const row = /^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(line);
    if (row && n > 0) rows.push({ n, bands: Number(row[1]), full: Number(row[3]), bits16: Number(row[4]), bits8: Number(row[5]) });
  }
  return rows;
}

let cReport: CReport | null = null;
if (!skipC) {
  console.log('== step 1: the C benchmark ==');
  cReport = runCBench();
  // Signature speed on real English and synthetic words, next to its targets and to the
  // machine's bounds that signature_bench measures in its own process; with this CPU's
  // best kernels, then capped (KNOWHERE_SIMD, native/cpu.h) to show what each level buys.
  for (const simd of SIMD_LEVELS) {
    const json = path.join(buildDir, `signature-${simd}.json`);
    run(path.join(buildDir, 'bench', 'signature_bench'), [...(quick ? ['--quick'] : []), '--json', json,
      ...(simd === 'best' ? ['--docs-out', signatureDocsPrefix] : [])],
      simd === 'best' ? {} : { KNOWHERE_SIMD: simd });
    signatureReports.push(JSON.parse(readFileSync(json, 'utf8')) as SignatureReport);
  }
  report['signatures'] = signatureReports;
  report['c'] = cReport;
  // Raw data as 8-bit codes (issue 14: at most 256 B per signature at K = 128,
  // band tables included): bench/raw_codes_bench.c prints memory per signature
  // by band count, then search time against full values.
  const codes = spawnSync(path.join(buildDir, 'bench', 'raw_codes_bench'), quick ? ['100000'] : [],
    { cwd: root, encoding: 'utf8' });
  process.stdout.write(codes.stdout);
  if (codes.status !== 0) throw new Error(`raw_codes_bench exited with ${String(codes.status ?? codes.signal)}`);
  rawCodesMemory = parseRawCodesMemory(codes.stdout);
}

if (!skipTs) {
  const builtLib = path.join(buildDir, 'libknowhere_rs.so');
  if (process.env['KNOWHERE_RS_LIB'] === undefined && existsSync(builtLib) && !skipC) {
    process.env['KNOWHERE_RS_LIB'] = builtLib; // the same file the C benchmark used
  }
  const binding: Binding = await import('../ts/index.ts');
  console.log(`\n== steps 2 and 3: the TypeScript binding (library ${binding.version()}, ` +
    `${process.env['KNOWHERE_RS_LIB'] ?? 'default path'}) and npm minhash ${minhashVersion} ==`);
  console.log(`${NQ} queries at agreement ${AGREEMENT} (banding finds a source with probability ` +
    `${THEORY_RECALL.toFixed(3)}), k = ${K}, raw data kept; minhash bandSize ${BAND_SIZE}`);
  const ours: OursResult[] = [];
  const baseline: BaselineResult[] = [];
  for (const n of baselineNs) {
    const w = makeWorkload(n, 7 + n);
    console.log(`n = ${n}: the binding`);
    ours.push(measureOurs(binding, w));
    console.log(`n = ${n}: npm minhash`);
    baseline.push(measureBaseline(w));
  }
  report['typescript'] = ours;
  report['minhash_npm'] = { version: minhashVersion, results: baseline };
  const tsSignatures = measureTsSignatures(binding);
  report['typescript_signatures'] = tsSignatures.map(({ texts: _texts, ...r }) => r);
  const costWorkload = makeWorkload(100_000, 7 + 100_000);
  const costQueries = Array.from({ length: 1000 }, (_, q) =>
    costWorkload.queries.subarray(q * LENGTH, (q + 1) * LENGTH));
  const costTexts = tsSignatures.find((r) => r.words === 100)?.texts ??
    Array.from({ length: 1000 }, (_, d) => Array.from({ length: 100 }, (_, w) => `w${(d * 31 + w * 7) % 5000}`).join(' '));
  const cost = measureBindingCost(binding, costWorkload.data, costQueries, costTexts);
  report['binding_cost'] = cost;

  const rows: string[][] = [];
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i];
    const b = baseline[i];
    if (o === undefined || b === undefined) continue;
    const label = (s: string): string => `${s} (n = ${o.n / 1000}k)`;
    rows.push([label('build / insert per signature, 1 thread'), fmtNs(o.build_ns_per_signature.one_thread),
      fmtNs(b.insert_ns_per_doc), fmtRatio(o.build_ns_per_signature.one_thread / b.insert_ns_per_doc)]);
    rows.push([label(`build per signature, ${o.threads} threads`), fmtNs(o.build_ns_per_signature.all_cores), '', '']);
    rows.push([label('single query, median'), fmtNs(o.single_search_ns.median), fmtNs(b.query_ns.median),
      fmtRatio(o.single_search_ns.median / b.query_ns.median)]);
    rows.push([label('single query, mean'), fmtNs(o.single_search_ns.mean), fmtNs(b.query_ns.mean),
      fmtRatio(o.single_search_ns.mean / b.query_ns.mean)]);
    rows.push([label('single query, p99'), fmtNs(o.single_search_ns.p99), fmtNs(b.query_ns.p99),
      fmtRatio(o.single_search_ns.p99 / b.query_ns.p99)]);
    rows.push([label('batch search / query, 1 thread'), fmtNs(o.batch_search_ns_per_query.one_thread), '', '']);
    rows.push([label(`batch search / query, ${o.threads} threads`), fmtNs(o.batch_search_ns_per_query.all_cores), '', '']);
    rows.push([label('recall (source found)'), `${o.recall_single.toFixed(4)}`, `${b.recall.toFixed(4)}`,
      fmtRatio(o.recall_single / b.recall)]);
    rows.push([label('memory / signature'), `${o.memory_bytes_per_signature.toFixed(0)} B`,
      `${b.heap_bytes_per_doc.toFixed(0)} B`, fmtRatio(o.memory_bytes_per_signature / b.heap_bytes_per_doc)]);
    rows.push([label('minhash query as shipped: throws'), '', `${(100 * b.shipped_query_throws).toFixed(1)} %`, '']);
    rows.push([label('other processes\' load (CPUs)'), o.other_load_cpus.toFixed(2), b.other_load_cpus.toFixed(2), '']);
  }
  table('TypeScript binding vs npm minhash (same signatures, same queries; medians)',
    ['', 'ours (TS)', `minhash ${minhashVersion}`, 'ours / minhash'], rows);
  console.log('minhash: inserts are per document (its only API), median of 3 runs (2 above 50k docs); ' +
    'its query is run with a guard for bands never inserted (as shipped it throws TypeError, see the ' +
    'last row); its recall is "source among the candidates" (it neither ranks nor verifies); its memory ' +
    'is the V8 heap growth from inserting (index + band strings cached on the MinHash objects). ' +
    'Ours: one bulk build call; search returns the verified top 10.');

  table('The binding\'s per-call cost (CPU time per call, medians of 7 interleaved rounds; search: 100k ' +
    'random signatures, raw data, k = 10; signature: 100 words of real English)', ['', 'per call'],
  [...cost.search, ...cost.signature].map((r) => [r.name, fmtNs(r.ns)]));
  if (cReport !== null) printBindingOverhead(binding);
}

// Targets
if (cReport !== null) {
  const rows: string[][] = [];
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const ran = (section: string): boolean => cReport?.sections?.includes(section) ?? true;
  for (const r of cReport.results) {
    const one = r.by_threads[0];
    const all = r.by_threads[r.by_threads.length - 1];
    if (one === undefined || all === undefined) continue;
    if (ran('build')) {
      // Issue 14: at most 0.3 µs per signature on one thread, and linear
      // scaling to every core (time x threads within 1.1x of one thread).
      // The bound: the band keys hashed (one XXH3 each, a 17-byte one as
      // measured by signature_bench) and the signature read once.
      const b = signatureReports.find((x) => x.simd === 'best')?.bounds;
      const bandsPerSignature = 16, signatureBytes = 512;
      const boundNs = b === undefined ? NaN : bandsPerSignature * b.xxh3_17_ns + signatureBytes / b.read_gb_s;
      for (const raw of [true, false]) {
        const one1 = raw ? one.build_ns_per_signature.raw : one.build_ns_per_signature.no_raw;
        const all1 = raw ? all.build_ns_per_signature.raw : all.build_ns_per_signature.no_raw;
        rows.push([`build / signature, 1 thread, ${raw ? '' : 'no '}raw data (n = ${r.n / 1000}k)`, '<= 0.3 µs',
          `${fmtNs(one1)}; bound ${fmtNs(boundNs)} (${(one1 / boundNs).toFixed(1)}x)`, verdict(one1 <= 300)]);
        if (all.threads > 1) {
          const scaling = (all1 * all.threads) / one1;
          rows.push([`  scaling to ${all.threads} threads (time x threads / 1 thread)`, '<= 1.1',
            `${scaling.toFixed(2)} (${all.threads} x ${fmtNs(all1)})`, verdict(scaling <= 1.1)]);
        }
      }
    }
    if (ran('search')) {
      // Issue 14: median <= 0.7 µs and p99 <= 1.5 µs at 100k with raw data;
      // 1M within 1.5x of 100k. The bound (about 0.34 µs in the issue): the
      // 16 band keys hashed, 16 overlapped table reads, one dependent read.
      if (r.n === 100_000) {
        rows.push(['single query with raw data, median (n = 100k)', '<= 0.7 µs',
          fmtNs(r.single_search_ns.median), verdict(r.single_search_ns.median <= 700)]);
        rows.push(['single query with raw data, p99 (n = 100k)', '<= 1.5 µs',
          fmtNs(r.single_search_ns.p99), verdict(r.single_search_ns.p99 <= 1500)]);
      }
      const base = cReport.results.find((x) => x.n === 100_000);
      if (r.n > 100_000 && base !== undefined) {
        const ratio = r.single_search_ns.median / base.single_search_ns.median;
        rows.push([`single query median, n = ${r.n / 1000}k against 100k`, '<= 1.5x',
          `${fmtNs(r.single_search_ns.median)} (${ratio.toFixed(2)}x)`, verdict(ratio <= 1.5)]);
      }
    }
    if (ran('memory')) {
      rows.push([`index memory / signature, no raw data (n = ${r.n / 1000}k)`, '< 150 B',
        `${r.memory_bytes_per_signature.no_raw.toFixed(1)} B (RSS ${r.memory_bytes_per_signature.rss_delta_no_raw.toFixed(1)} B)`,
        verdict(r.memory_bytes_per_signature.no_raw < 150)]);
    }
    for (const [name, o] of !ran('overhead') ? [] : [['build', r.interrupt_overhead.build], ['batch search', r.interrupt_overhead.batch_search]] as const) {
      const iqr = (v: number[]): string => `IQR ${(v[0] ?? NaN).toFixed(1)}..${(v[1] ?? NaN).toFixed(1)}`;
      rows.push([`interrupt vs NULL overhead, ${name} (n = ${r.n / 1000}k)`, '< 1 %',
        `${o.cpu_pct.toFixed(2)} % CPU (${iqr(o.cpu_pct_iqr)}), ${o.wall_pct.toFixed(2)} % wall (${iqr(o.wall_pct_iqr)})`,
        o.cpu_pct < 1 ? 'met' : (o.cpu_pct_iqr[0] ?? Infinity) < 1 ? 'unresolved (noise)' : 'MISSED']);
    }
    const l = r.interrupt_latency;
    if (l !== undefined) {
      for (const [name, v, c] of [['build', l.build, l.control_build], ['batch search', l.batch_search, l.control_batch_search]] as const) {
        rows.push([`interrupt latency, ${name} (n = ${r.n / 1000}k)`, '< 1 ms',
          `p50 ${v.p50_us.toFixed(0)} µs, p90 ${v.p90_us.toFixed(0)} µs, max ${v.max_us.toFixed(0)} µs`,
          v.max_us < 1000 ? 'met'
            : c.max_us >= 1000 && c.p90_us >= 1000 && v.p50_us < 1000 ? 'MISSED, as the control'
              : v.p90_us < 1000 ? `p90 met, max MISSED${c.max_us >= 1000 ? ' (control too)' : ''}` : 'MISSED']);
        rows.push(['  control loop (the machine\'s floor)', '',
          `p50 ${c.p50_us.toFixed(0)} µs, p90 ${c.p90_us.toFixed(0)} µs, max ${c.max_us.toFixed(0)} µs`,
          `other load ${v.other_load_cpus.toFixed(2)} CPUs`]);
      }
    }
  }
  // Signatures (issue 14): real English, K = 128, one core, this CPU's best kernels.
  const best = signatureReports.find((r) => r.simd === 'best');
  for (const row of best?.rows.filter((r) => r.target_us > 0) ?? []) {
    const b = best?.bounds;
    rows.push([`signature from text, ${row.words} words of real English (K = 128, 1 core)`,
      `<= ${row.target_us} µs`,
      `${row.us.toFixed(2)} µs; bound ${row.bound_us.toFixed(2)} µs (${(row.us / row.bound_us).toFixed(1)}x): ` +
      `${row.mean_bytes.toFixed(0)} B at ${b?.read_gb_s.toFixed(1)} GB/s + ${row.mean_shingles.toFixed(0)} x ` +
      `XXH3 ${b?.xxh3_17_ns.toFixed(2)} ns + a pass ${b?.min_pass_ns.toFixed(1)} ns`,
      verdict(row.us <= row.target_us)]);
  }
  for (const row of rawCodesMemory.filter((r) => r.bands === 16 || r.bands === 15)) {
    rows.push([`memory / signature, 8-bit codes, ${row.bands} bands (n = ${row.n / 1000}k)`, '<= 256 B',
      `${row.bits8.toFixed(1)} B (full values ${row.full.toFixed(1)} B, 16-bit codes ${row.bits16.toFixed(1)} B)`,
      verdict(row.bits8 <= 256)]);
  }
  table('Targets (C library)', ['', 'target', 'measured', ''], rows);
}

mkdirSync(path.dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nall numbers: ${path.relative(process.cwd(), jsonPath) || jsonPath}`);
