/**
 * The MinHash-LSH index from TypeScript: build from signatures, search (with
 * and without a filter), batch search, and an async batch search cancelled
 * with an AbortController.
 *
 * Run: npm start (or npx tsx examples/minhash_lsh_example.ts)
 */
import { InterruptedError, MinHashLSHIndex, version } from '../ts/index.ts';

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

const signatures = makeSignatures(N);
const row = (id: number): Uint32Array => signatures.subarray(id * LENGTH, (id + 1) * LENGTH);

using index = new MinHashLSHIndex();
let started = performance.now();
await index.buildAsync(signatures, LENGTH, 4, BANDS, true); // 4 bytes per value
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

// The index is intact and usable after the cancellation.
const again = index.search(row(10), K);
console.log(`search for row 10 again: ${formatHits(again.ids, again.distances)}`);
