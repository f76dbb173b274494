/**
 * What the async calls' input copy costs (ts/async-call.ts, ownedCopy):
 * an async method copies the caller's buffers into memory the binding owns
 * before the native call starts. Run: `npx tsx bench/async-copy.bench.ts`.
 *
 * For each size, the median and best of 21 copies, in µs and MB/s: into
 * fresh memory (the first call, or a size the pool does not keep), and as
 * runAsync does it call after call (the buffer goes back to the pool when
 * the call returns). Then, for scale, the async call each precedes on the
 * same data (random 128 x 4-byte signatures, 16 bands, raw data; queries
 * are stored rows, k = 10).
 */
import { ownedCopy, releaseCopies } from '../ts/async-call.ts';
import { MinHashLSHIndex } from '../ts/index.ts';

const REPS = 21;

function timeUs(fn: () => unknown): number[] {
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  return times.sort((a, b) => a - b);
}

async function timeAsyncUs(fn: () => Promise<unknown>, reps: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  return times.sort((a, b) => a - b);
}

const median = (sorted: number[]): number => sorted[Math.floor(sorted.length / 2)]!;

function random(n: number, seed: number): Uint32Array {
  const values = new Uint32Array(n);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    values[i] = state;
  }
  return values;
}

const signatures = random(100_000 * 128, 7);
const bytes = new Uint8Array(signatures.buffer);
const sizes: [string, Uint8Array][] = [
  ['build input, 100k x 128 x 4 B (51.2 MB)', bytes],
  ['batch of 1000 queries (512 KB)', bytes.subarray(0, 1000 * 512)],
  ['one query (512 B)', bytes.subarray(0, 512)],
];
const cell = (input: Uint8Array, times: number[]): string =>
  `${median(times).toFixed(1)} µs (${times[0]!.toFixed(1)}), ${(input.byteLength / median(times)).toFixed(0)} MB/s`;
console.log('| input | into fresh memory: median (best), MB/s | call after call (pooled) |');
console.log('|---|---|---|');
for (const [name, input] of sizes) {
  const fresh = timeUs(() => new Uint8Array(input.byteLength).set(input));
  const steady = timeUs(() => releaseCopies([ownedCopy(input, 'input')]));
  console.log(`| ${name} | ${cell(input, fresh)} | ${cell(input, steady)} |`);
}

using index = new MinHashLSHIndex();
const build = await timeAsyncUs(() => index.buildAsync(signatures, 128, 4, 16, true), 5);
const queries = signatures.slice(0, 1000 * 128);
for (let i = 0; i < queries.length; i++) if ((i * 2654435761) % 5 === 0) queries[i] = 0;
const batch = await timeAsyncUs(() => index.batchSearchAsync(queries, 1000, 10), 11);
const one = await timeAsyncUs(() => index.searchAsync(queries.subarray(0, 128), 10), 201);
console.log(`\nfor scale: buildAsync 100k ${(median(build) / 1e3).toFixed(1)} ms, ` +
  `batchSearchAsync 1000 queries ${(median(batch) / 1e3).toFixed(2)} ms, searchAsync ${median(one).toFixed(1)} µs ` +
  '(medians, copies included)');
