/**
 * The MinHash-LSH index from TypeScript: build from signatures (with
 * progress), search (with and without a filter), batch search, an async
 * batch search cancelled with an AbortController, another stopped by a
 * timeout (AbortSignal.timeout), and a save / load round trip through a
 * temporary directory.
 *
 * Run: npm start (or npx tsx examples/minhash_lsh_example.ts)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { InterruptedError, MinHashLSHIndex, TimeoutError, version, type Progress } from '../ts/index.ts';

const LENGTH = 128; // values per signature
const BANDS = 16;
const N = 200_000;
const K = 5;

/** Stand-in MinHash signatures: random 32-bit values, and every tenth row a
 * near-copy of the row before it (about 90 % of positions equal). */
function makeSignatures(n: number): Uint32Array {
  const signatures = new Uint32Array(n * LENGTH);
  let state = 42;
  for (let i = 0; i < signatures.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    signatures[i] = state >>> 0;
  }
  for (let row = 10; row < n; row += 10) {
    for (let j = 0; j < LENGTH; j++) {
      const at = row * LENGTH + j;
      if (signatures[at]! % 10 !== 0) signatures[at] = signatures[at - LENGTH]!;
    }
  }
  return signatures;
}

function formatHits(ids: BigInt64Array, distances: Float32Array): string {
  const hits: string[] = [];
  ids.forEach((id, i) => { if (id >= 0n) hits.push(`${id} (${distances[i]!.toFixed(3)})`); });
  return hits.join(', ') || 'none';
}

/** An onProgress that prints one line per 25 % step reached (calls come on
 * this thread, polled while the work runs on the thread pool). */
function reportEveryQuarter(): (p: Progress) => void {
  let printed = -1;
  return ({ done, total, phase }) => {
    const quarter = Math.floor((done / total) * 4);
    if (quarter === printed) return;
    printed = quarter;
    console.log(`  ${phase}: ${((done / total) * 100).toFixed(0)} % (${done} of ${total})`);
  };
}

const signatures = makeSignatures(N);
const row = (id: number): Uint32Array => signatures.subarray(id * LENGTH, (id + 1) * LENGTH);

using index = new MinHashLSHIndex();
let started = performance.now();
await index.buildAsync(signatures, LENGTH, 4, BANDS, true, { onProgress: reportEveryQuarter() });
console.log(`knowhere-rs ${version()}: built ${index.count} signatures in ${index.bands} bands of ` +
  `${index.rowsPerBand} values in ${(performance.now() - started).toFixed(0)} ms, ` +
  `${(index.memoryUsage / 1e6).toFixed(1)} MB`);

// Row 10 is a near-copy of row 9: searching with it finds both.
const hits = index.search(row(10), K);
console.log(`search for row 10: ${formatHits(hits.ids, hits.distances)}`);

// A filter that excludes row 10 itself (a set bit excludes an id).
const excluded = new Uint8Array(Math.ceil(N / 8));
excluded[10 >> 3]! |= 1 << (10 & 7);
const filtered = index.search(row(10), K, { bytes: excluded, bits: N });
console.log(`same, row 10 filtered out: ${formatHits(filtered.ids, filtered.distances)}`);

// A batch of 1000 queries (the first 1000 rows) on every core.
const NQ = 1000;
started = performance.now();
const batch = index.batchSearch(signatures.subarray(0, NQ * LENGTH), NQ, K);
let self = 0;
for (let q = 0; q < NQ; q++) if (batch.row(q).ids[0] === BigInt(q)) self++;
console.log(`batch of ${NQ}: ${self} found themselves first (${(performance.now() - started).toFixed(0)} ms); ` +
  `row 20: ${formatHits(batch.row(20).ids, batch.row(20).distances)}`);

// A large async batch search, cancelled with an AbortController after 5 ms.
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(new Error('took too long')), 5);
started = performance.now();
try {
  const all = await index.batchSearchAsync(signatures, N, K, { signal: controller.signal });
  console.log(`async batch of ${all.nq} finished before the abort (${(performance.now() - started).toFixed(0)} ms)`);
} catch (error) {
  if (!(error instanceof InterruptedError)) throw error;
  console.log(`async batch of ${N} cancelled after ${(performance.now() - started).toFixed(0)} ms: ` +
    `${error.message} (cause: ${(error.cause as Error).message})`);
} finally {
  clearTimeout(timer);
}

// The same with a time limit: AbortSignal.timeout ends the call with a
// TimeoutError (an InterruptedError whose isTimeout() is true).
started = performance.now();
try {
  const all = await index.batchSearchAsync(signatures, N, K, { signal: AbortSignal.timeout(20) });
  console.log(`async batch of ${all.nq} finished within the time limit`);
} catch (error) {
  if (!(error instanceof TimeoutError)) throw error;
  console.log(`async batch of ${N} timed out after ${(performance.now() - started).toFixed(0)} ms: ` +
    `${error.message} (isTimeout: ${error.isTimeout()}, cause: ${(error.cause as DOMException).name})`);
}

// The index is intact and usable after the cancellations.
const again = index.search(row(10), K);
console.log(`search for row 10 again: ${formatHits(again.ids, again.distances)}`);

// Save to a file and load it back (in a temporary directory, removed after).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'knowhere-rs-example-'));
try {
  const file = path.join(dir, 'signatures.khrs');
  started = performance.now();
  await index.saveAsync(file, { onProgress: reportEveryQuarter() });
  console.log(`saved to ${file}: ${(fs.statSync(file).size / 1e6).toFixed(1)} MB in ` +
    `${(performance.now() - started).toFixed(0)} ms`);
  started = performance.now();
  using loaded = await MinHashLSHIndex.loadAsync(file, { onProgress: reportEveryQuarter() });
  const reloaded = loaded.search(row(10), K);
  console.log(`loaded ${loaded.count} signatures in ${(performance.now() - started).toFixed(0)} ms; ` +
    `search for row 10: ${formatHits(reloaded.ids, reloaded.distances)}`);
  // In memory, without a file: the same bytes.
  const bytes = index.serialize();
  using copy = MinHashLSHIndex.deserialize(bytes);
  console.log(`serialized to ${(bytes.byteLength / 1e6).toFixed(1)} MB (the file's bytes: ` +
    `${Buffer.from(bytes).equals(fs.readFileSync(file))}); the copy has ${copy.count} signatures`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
