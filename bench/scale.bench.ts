/**
 * The scale benchmark (`npm run bench:scale`, not part of `npm test`):
 * `knowhere-rs dedup` on a corpus larger than memory would allow the old
 * reader, with planted near-duplicates to check the answer.
 *
 *  1. Generates N JSON Lines documents of about 1 KB of real-looking text
 *     (random sentences of words drawn by their frequency in the
 *     SpamAssassin mails of the demo) with planted families: about 8 % of the documents
 *     are originals that get 1 to 3 edited copies later in the file (words
 *     replaced, deleted or inserted at 0.5 % to 6 %, some copies also
 *     re-cased or re-wrapped, which normalisation undoes). The corpus is
 *     streamed to disk in a temporary directory, never held; the truth
 *     (every pair of a family with its exact Jaccard similarity of word
 *     3-shingles, computed by brute force while the family is generated) is
 *     kept.
 *  2. Runs `knowhere-rs dedup --jsonl --stats` on it as a child process,
 *     with its peak RSS read from /proc/<pid>/status (VmHWM) while it runs.
 *  3. Reports documents per second per phase, the peak RSS, and the answer
 *     against the truth: recall (documents with an earlier family member at
 *     J >= T that dedup drops), and precision (cluster members whose pair
 *     with their representative is a planted pair at J >= T, or >= T - 0.05).
 *
 *   npm run bench:scale -- [--docs 1000000] [--corpus DIR] [--keep] [--threads N] [-- DEDUP OPTIONS]
 *
 * --corpus DIR reuses (or makes and keeps) the corpus there: generating 10M
 * documents (10 GB) takes minutes. The machine's load is printed with the
 * figures: on a shared machine they are noisy.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadDemoCorpus } from '../ts/cli/demo.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    docs: { type: 'string', default: '1000000' },
    corpus: { type: 'string' },
    keep: { type: 'boolean', default: false },
    threads: { type: 'string' },
    threshold: { type: 'string', default: '0.8' },
    seed: { type: 'string', default: '1' },
  },
});
const docs = Number(values.docs);
const threshold = Number(values.threshold);
if (!Number.isInteger(docs) || docs < 10) throw new Error(`--docs: expected an integer >= 10, got ${values.docs}`);

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

/** xorshift32: fast and seeded (the corpus is the same for the same seed). */
function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** Words by frequency: a table of 2^16 entries, each word in proportion to
 * its count in the demo's mails (so drawing is one lookup). */
function wordTable(): string[] {
  const counts = new Map<string, number>();
  for (const document of loadDemoCorpus().documents) {
    for (const word of Buffer.from(document.text).toString('utf8').toLowerCase().match(/[a-z]{2,14}/g) ?? []) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 40_000);
  const total = sorted.reduce((sum, [, c]) => sum + c, 0);
  const table: string[] = [];
  for (const [word, count] of sorted) {
    const share = Math.max(1, Math.round((count / total) * 65536));
    for (let k = 0; k < share && table.length < 65536; k++) table.push(word);
  }
  // The rarest words, once each, fill what rounding left.
  for (let i = sorted.length - 1; table.length < 65536; i--) table.push(sorted[i]![0]);
  return table;
}

const next = generator(Number(values.seed));
const unit = (): number => next() / 2 ** 32;

/** Sentences of 6 to 18 words, drawn once: documents are made of them
 * (2^18 sentences, each in about 1 of 20 000 documents at 10^7: two
 * documents rarely share one, and one shared sentence is a Jaccard
 * similarity of about 0.03). Drawing every word of 10 GB would take
 * minutes. */
function sentences(table: readonly string[]): string[] {
  const out: string[] = [];
  for (let n = 0; n < 1 << 18; n++) {
    const length = 6 + (next() % 13);
    const words: string[] = [];
    for (let k = 0; k < length; k++) words.push(table[next() & 0xffff]!);
    words[0] = words[0]![0]!.toUpperCase() + words[0]!.slice(1);
    out.push(`${words.join(' ')}.`);
  }
  return out;
}

/** A document of about `bytes` bytes of random sentences. */
function document(pool: readonly string[], bytes: number): string {
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const sentence = pool[next() & 0x3ffff]!;
    parts.push(sentence);
    length += sentence.length + 1;
  }
  return parts.join(' ');
}

/** An edited copy: each word replaced, deleted or followed by an inserted
 * word with probability `rate`. */
function edited(words: readonly string[], rate: number, table: readonly string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    if (unit() >= rate) {
      out.push(word);
      continue;
    }
    const kind = next() % 3;
    if (kind === 0) out.push(table[next() & 0xffff]!);
    else if (kind === 2) out.push(word, table[next() & 0xffff]!);
  }
  return out;
}

/** The text of a copy: mostly spaces; some re-wrapped into lines, some
 * upper-cased (the library's normalisation undoes both). */
function textOf(words: readonly string[], variant: number): string {
  if (variant === 1) return words.map((w, i) => (i % 12 === 11 ? `${w}\n` : `${w} `)).join('').trimEnd();
  if (variant === 2) return words.join(' ').toUpperCase();
  return words.join(' ');
}

/** Word 3-shingles as the library makes them for this text (lower-cased,
 * split on whitespace). */
function shingles(words: readonly string[]): Set<string> {
  const lower = words.map((w) => w.toLowerCase());
  const set = new Set<string>();
  if (lower.length < 3) set.add(lower.join(' '));
  for (let i = 0; i + 3 <= lower.length; i++) set.add(`${lower[i]} ${lower[i + 1]} ${lower[i + 2]}`);
  return set;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let common = 0;
  for (const s of a) if (b.has(s)) common++;
  return common / (a.size + b.size - common);
}

// ---------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------

interface Truth {
  /** Planted pairs (left < right) and their exact similarity. */
  left: number[];
  right: number[];
  similarity: number[];
}

interface Family {
  readonly words: string[];
  readonly members: { index: number; shingles: Set<string> }[];
  copiesLeft: number;
}

/** Writes the corpus to `file` (streamed, 4 MiB at a time) and returns the
 * truth. */
function generate(file: string, n: number): Truth {
  const table = wordTable();
  const sentencePool = sentences(table);
  const truth: Truth = { left: [], right: [], similarity: [] };
  const fd = fs.openSync(file, 'w');
  let chunk: string[] = [];
  let chunkLength = 0;
  const pool: Family[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    let text: string;
    // A copy, more often the more families wait (about 14 % of documents).
    if (pool.length > 0 && unit() < pool.length / 20_000) {
      const at = next() % pool.length;
      const family = pool[at]!;
      const words = edited(family.words, 0.005 + unit() * 0.055, table);
      const own = shingles(words);
      for (const member of family.members) {
        truth.left.push(member.index);
        truth.right.push(i);
        truth.similarity.push(jaccard(member.shingles, own));
      }
      family.members.push({ index: i, shingles: own });
      if (--family.copiesLeft === 0) pool.splice(at, 1);
      const variant = unit() < 0.3 ? 1 + (next() % 2) : 0;
      text = textOf(words, variant);
    } else {
      text = document(sentencePool, 600 + (next() % 900));
      if (unit() < 0.08) {
        const words = text.split(' ');
        pool.push({ words, members: [{ index: i, shingles: shingles(words) }], copiesLeft: 1 + (next() % 3) });
      }
    }
    const line = `${JSON.stringify({ text })}\n`;
    chunk.push(line);
    chunkLength += line.length;
    if (chunkLength >= 4 << 20) {
      fs.writeSync(fd, chunk.join(''));
      chunk = [];
      chunkLength = 0;
    }
    if ((i & 0xfffff) === 0xfffff) {
      process.stderr.write(`  generated ${i + 1} documents in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }
  fs.writeSync(fd, chunk.join(''));
  fs.closeSync(fd);
  return truth;
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/** The peak RSS of a process so far (VmHWM), in bytes, or 0. */
function peakRss(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

interface DedupRun {
  readonly status: number | null;
  readonly stderr: string;
  readonly wallMs: number;
  readonly peakRssBytes: number;
}

function runDedup(args: readonly string[]): Promise<DedupRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'bin', 'knowhere-rs.mjs'), 'dedup', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peak = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk.replace(/^/gm, '  | ').replace(/ {2}\| $/, ''));
    });
    const poll = setInterval(() => { peak = Math.max(peak, peakRss(child.pid!)); }, 100);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearInterval(poll);
      resolve({ status, stderr, wallMs: performance.now() - started, peakRssBytes: peak });
    });
  });
}

interface ClusterLine {
  representative: { index: number };
  members: { index: number }[];
}

function evaluate(clustersFile: string, truth: Truth): { recall: number; precision: number; nearPrecision: number;
  truePairs: number; dropped: number } {
  const similarity = new Map<number, number>();
  const key = (a: number, b: number): number => Math.min(a, b) * docs + Math.max(a, b);
  truth.left.forEach((l, k) => { similarity.set(key(l, truth.right[k]!), truth.similarity[k]!); });
  // Documents with an earlier family member at J >= T: what a keep list should drop.
  const duplicates = new Set<number>();
  truth.left.forEach((_, k) => { if (truth.similarity[k]! >= threshold) duplicates.add(truth.right[k]!); });
  let members = 0;
  let correct = 0;
  let near = 0;
  let found = 0;
  const text = fs.readFileSync(clustersFile, 'utf8');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const cluster = JSON.parse(line) as ClusterLine;
    const rep = cluster.representative.index;
    for (const { index } of cluster.members) {
      if (index === rep) continue;
      members++;
      const j = similarity.get(key(rep, index)) ?? 0;
      if (j >= threshold) correct++;
      if (j >= threshold - 0.05) near++;
      if (duplicates.has(index)) found++;
    }
  }
  return {
    recall: duplicates.size === 0 ? 1 : found / duplicates.size,
    precision: members === 0 ? 1 : correct / members,
    nearPrecision: members === 0 ? 1 : near / members,
    truePairs: duplicates.size,
    dropped: members,
  };
}

/** Phase lines of a run on a non-terminal stderr: `knowhere-rs: PHASE: ... in X s`. */
function phaseTimes(stderr: string): { phase: string; seconds: number }[] {
  const times: { phase: string; seconds: number }[] = [];
  for (const match of stderr.matchAll(/^knowhere-rs: (\w+): .* in ([\d.]+) s$/gm)) {
    times.push({ phase: match[1]!, seconds: Number(match[2]) });
  }
  return times;
}

async function main(): Promise<void> {
  const dir = values.corpus ?? fs.mkdtempSync(path.join(os.tmpdir(), 'knowhere-scale-'));
  fs.mkdirSync(dir, { recursive: true });
  const corpus = path.join(dir, `corpus-${docs}-${values.seed}.jsonl`);
  const truthFile = `${corpus}.truth.json`;
  const keep = values.keep || values.corpus !== undefined;
  let truth: Truth;
  try {
    if (fs.existsSync(corpus) && fs.existsSync(truthFile)) {
      console.log(`corpus: ${corpus} (reused)`);
      truth = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Truth;
    } else {
      console.log(`generating ${docs} documents into ${corpus} ...`);
      const started = performance.now();
      truth = generate(corpus, docs);
      fs.writeFileSync(truthFile, JSON.stringify(truth));
      console.log(`  ${(fs.statSync(corpus).size / 2 ** 30).toFixed(2)} GiB in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s; ${truth.left.length} planted pairs`);
    }
    const size = fs.statSync(corpus).size;
    const clusters = path.join(dir, 'clusters.jsonl');
    const args = ['--jsonl', corpus, '-o', clusters, '-t', String(threshold), '--stats',
      ...(values.threads === undefined ? [] : ['--threads', values.threads]), ...positionals];
    console.log(`load average before the run: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);
    console.log(`knowhere-rs dedup ${args.join(' ')}`);
    const run = await runDedup(args);
    if (run.status !== 0) throw new Error(`dedup exited with ${run.status}`);
    const quality = evaluate(clusters, truth);
    console.log(`\n${docs} documents, ${(size / 2 ** 30).toFixed(2)} GiB of JSON Lines; load average after: ` +
      `${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`  total ${(run.wallMs / 1000).toFixed(1)} s wall (${Math.round(docs / (run.wallMs / 1000))} documents/s), ` +
      `peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB (${Math.round(run.peakRssBytes / docs)} bytes/document)`);
    for (const { phase, seconds } of phaseTimes(run.stderr)) {
      console.log(`  ${phase.padEnd(11)} ${seconds.toFixed(2).padStart(8)} s  ` +
        `${seconds > 0 ? Math.round(docs / seconds).toString().padStart(10) : '         -'} documents/s`);
    }
    console.log(`  recall ${(100 * quality.recall).toFixed(2)} % of ${quality.truePairs} planted duplicates at J >= ` +
      `${threshold}; precision ${(100 * quality.precision).toFixed(2)} % (J >= ${threshold}), ` +
      `${(100 * quality.nearPrecision).toFixed(2)} % (J >= ${(threshold - 0.05).toFixed(2)}) of ${quality.dropped} ` +
      'dropped documents');
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
