/**
 * `npm run bench:dedup`: `knowhere-rs dedup` on corpora with hot buckets,
 * end to end, as a user runs it: time and peak memory.
 *
 * Each corpus is generated (deterministically, from a seed) as one JSON
 * Lines file in a temporary directory, streamed to disk, then deduplicated
 * by the command in a child process (`node bin/knowhere-rs.mjs dedup
 * --jsonl FILE -o OUT`, dist/ as built); the child's peak resident set size
 * is its own getrusage maxrss, written at exit by bench/rss-preload.mjs
 * (loaded with --import into the child). The phase times are the command's
 * own lines on stderr.
 *
 * Corpora (N documents, default 1 000 000, of about 40 words):
 *   identical   N copies of one document
 *   hot         N / 2 documents in 100 hot buckets of N / 200: each bucket
 *               is a template followed by " ref <unique number>" (pairwise
 *               Jaccard about 0.95, so every pair of a bucket is a
 *               near-duplicate and shares most bands), shuffled among N / 2
 *               unrelated documents (40 words drawn from 5000)
 *   unique      N unrelated documents (no near-duplicate: the baseline)
 *
 *   npm run bench:dedup                          identical and hot, N = 1M
 *   npm run bench:dedup -- --docs 100k --corpora identical,hot,unique
 *   npm run bench:dedup -- --threads 1 --clusters components --format pairs-csv
 *   npm run bench:dedup -- --timeout 120         give up on a run after 120 s
 *   npm run bench:dedup -- --json FILE           the numbers as JSON
 *   npm run bench:dedup -- --keep                keep the temporary directory
 *   npm run bench:dedup -- --corpus-dir DIR      keep the corpora in DIR (reused when present)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

function parseCount(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (m === null) throw new Error(`bad count: ${text}`);
  const scale = m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1;
  return Math.round(Number(m[1]) * scale);
}

type CorpusKind = 'identical' | 'hot' | 'unique';
const KINDS: readonly CorpusKind[] = ['identical', 'hot', 'unique'];

interface BenchOptions {
  docs: number;
  corpora: CorpusKind[];
  extra: string[];
  timeoutSeconds: number | null;
  json: string | null;
  keep: boolean;
  corpusDir: string | null;
}

function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    docs: 1_000_000, corpora: ['identical', 'hot'], extra: [], timeoutSeconds: null, json: null, keep: false,
    corpusDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--docs') options.docs = parseCount(next());
    else if (a === '--corpora') {
      options.corpora = next().split(',').map((k) => {
        if (!KINDS.includes(k as CorpusKind)) throw new Error(`unknown corpus ${k} (${KINDS.join(', ')})`);
        return k as CorpusKind;
      });
    } else if (a === '--timeout') options.timeoutSeconds = Number(next());
    else if (a === '--json') options.json = path.resolve(next());
    else if (a === '--keep') options.keep = true;
    else if (a === '--corpus-dir') options.corpusDir = path.resolve(next());
    else if (a === '--threads' || a === '--clusters' || a === '--format' || a === '--threshold' ||
             a === '--verify' || a === '--max-pairs') options.extra.push(a, next());
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return options;
}

// ---------------------------------------------------------------------------
// Corpora
// ---------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so every run writes the same files. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS_PER_DOCUMENT = 40;
const HOT_BUCKETS = 100;

function vocabulary(random: () => number, size: number): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const words = new Set<string>();
  while (words.size < size) {
    const length = 3 + Math.floor(random() * 7);
    let w = '';
    for (let i = 0; i < length; i++) w += letters[Math.floor(random() * letters.length)];
    words.add(w);
  }
  return [...words];
}

function randomText(random: () => number, words: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < WORDS_PER_DOCUMENT; i++) out.push(words[Math.floor(random() * words.length)]!);
  return out.join(' ');
}

/** Document i of a corpus (the generator is called in order). */
function corpusDocuments(kind: CorpusKind, n: number): () => string {
  const random = rng(0x5eed + KINDS.indexOf(kind));
  const words = vocabulary(random, 5000);
  if (kind === 'identical') {
    const text = randomText(random, words);
    return () => text;
  }
  if (kind === 'unique') return () => randomText(random, words);
  // hot: a shuffled plan of which document goes where (-1: unrelated).
  const templates = Array.from({ length: HOT_BUCKETS }, () => randomText(random, words));
  const hot = Math.floor(n / 2);
  const plan = new Int32Array(n).fill(-1);
  for (let i = 0; i < hot; i++) plan[i] = i % HOT_BUCKETS;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = plan[i]!;
    plan[i] = plan[j]!;
    plan[j] = t;
  }
  let at = 0;
  let serial = 0;
  return () => {
    const bucket = plan[at++]!;
    return bucket < 0 ? randomText(random, words) : `${templates[bucket]} ref ${100000 + serial++}`;
  };
}

async function writeCorpus(file: string, kind: CorpusKind, n: number): Promise<void> {
  const next = corpusDocuments(kind, n);
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < n; i++) {
    chunk += `${JSON.stringify({ text: next() })}\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

// ---------------------------------------------------------------------------
// Running the command
// ---------------------------------------------------------------------------

interface RunResult {
  readonly corpus: CorpusKind;
  readonly docs: number;
  readonly megabytes: number;
  readonly status: number | null;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly phases: Record<string, number>;
  readonly summary: string;
}

async function runDedup(kind: CorpusKind, file: string, outDir: string, options: BenchOptions): Promise<RunResult> {
  const rssFile = path.join(outDir, `${kind}.rss`);
  const args = [
    '--import', path.join(root, 'bench', 'rss-preload.mjs'), path.join(root, 'bin', 'knowhere-rs.mjs'), 'dedup',
    '--jsonl', file, '-o', path.join(outDir, `${kind}.out`), ...options.extra,
    ...(options.timeoutSeconds === null ? [] : ['--timeout', String(options.timeoutSeconds)]),
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, KNOWHERE_BENCH_RSS_FILE: rssFile }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; });
  const [status] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  const phases: Record<string, number> = {};
  for (const m of stderr.matchAll(/^knowhere-rs: (\w+): .* in (\d+\.\d+) s$/gm)) phases[m[1]!] = Number(m[2]);
  let peakKiB = NaN;
  try {
    peakKiB = Number(readFileSync(rssFile, 'utf8'));
  } catch {
    // killed before its exit handler ran
  }
  const summary = /^(?:knowhere-rs: )? {2}((?:\d+ pairs?, )?\d+ clusters? holding .*)$/m.exec(stderr)?.[1] ?? stderr.trim().split('\n').slice(-2).join(' / ');
  return {
    corpus: kind, docs: 0, megabytes: statSync(file).size / 2 ** 20, status, seconds, peakRssMiB: peakKiB / 1024,
    phases, summary,
  };
}

function formatRow(r: RunResult): string {
  const p = (name: string): string => (r.phases[name] === undefined ? '-' : r.phases[name]!.toFixed(2));
  return `| ${r.corpus} | ${r.docs.toLocaleString('en')} | ${r.megabytes.toFixed(0)} MiB | ${r.status} | ` +
    `${r.seconds.toFixed(2)} s | ${r.peakRssMiB.toFixed(0)} MiB | ${p('reading')} | ${p('hashing')} | ` +
    `${p('indexing')} | ${p('clustering')} | ${p('joining')} | ${p('writing')} | ${r.summary} |`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knowhere-dedup-bench-'));
  if (options.corpusDir !== null) mkdirSync(options.corpusDir, { recursive: true });
  const results: RunResult[] = [];
  console.log(`knowhere-rs dedup, ${options.docs.toLocaleString('en')} documents per corpus, ` +
    `${os.cpus().length} cores; extra options: ${options.extra.join(' ') || 'none'}; files in ${dir}`);
  console.log('| corpus | documents | input | exit | wall time | peak RSS | reading | hashing | indexing | ' +
    'clustering | joining | writing | result |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  try {
    for (const kind of options.corpora) {
      const file = path.join(options.corpusDir ?? dir, `${kind}-${options.docs}.jsonl`);
      if (options.corpusDir === null || !existsSync(file)) await writeCorpus(file, kind, options.docs);
      const result = { ...(await runDedup(kind, file, dir, options)), docs: options.docs };
      results.push(result);
      console.log(formatRow(result));
      if (options.corpusDir === null) rmSync(file, { force: true });
    }
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
  if (options.json !== null) writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
}

await main();
