/**
 * Near-duplicate detection end to end with the library (what `knowhere-rs
 * dedup` does, in a page): MinHash signatures of texts (async, with
 * progress and a deadline), bands chosen for a similarity threshold, an
 * index built straight from the signatures, a self-join for every pair at
 * or above the threshold, clusters of the pairs, and a range search for a
 * new document.
 *
 * Run: npx tsx examples/dedup_example.ts
 */
import {
  MinHashLSHIndex, candidateProbability, chooseBands, clusterPairs, signatureFromText, signaturesFromTextsAsync,
  type Progress,
} from '../ts/index.ts';

const THRESHOLD = 0.8;

const documents = [
  'The quick brown fox jumps over the lazy dog while the farmer sleeps in the barn and the cat watches the mice.',
  'the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn and the cat watches the mice!',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore.',
  'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG WHILE THE FARMER SLEEPS IN THE BARN AND THE CAT WATCHES THE MICE.',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna.',
  'A completely different sentence about databases, indexes, and the joy of finding similar documents quickly.',
];

// 1. Signatures: one native call for the whole batch, on the library's
// threads; this thread stays free (progress is polled here). A deadline
// (AbortSignal.timeout) would reject with TimeoutError.
const progress = (p: Progress): void => { console.log(`  ${p.phase}: ${p.done} of ${p.total}`); };
const batch = await signaturesFromTextsAsync(documents, {
  numHashes: 128, shingle: 'words', shingleSize: 3, signal: AbortSignal.timeout(10_000), onProgress: progress,
});
console.log(`${batch.count} signatures of ${batch.numHashes} x ${batch.valueBytes} bytes ` +
  `(shingles per document: ${[...batch.shingleCounts].join(', ')})`);

// 2. Bands: a pair at the threshold must be a candidate with probability
// >= 0.95; the S-curve shows what happens around it.
const { bands, rows, probability } = chooseBands(batch.numHashes, THRESHOLD, 0.95);
console.log(`${bands} bands x ${rows} rows: P(candidate | ${THRESHOLD}) = ${probability.toFixed(3)}; ` +
  [0.5, 0.7, 0.9].map((s) => `P(${s}) = ${candidateProbability(s, bands, rows).toFixed(3)}`).join(', '));

// 3. The index, built straight from the batch (raw data kept: the join's
// similarities are then exact fractions of equal values).
using index = new MinHashLSHIndex();
await index.buildAsync(batch.values, batch.numHashes, batch.valueBytes, bands, true);

// 4. Every pair at or above the threshold, then the clusters.
const pairs = await index.selfJoinAsync(THRESHOLD, { onProgress: progress });
for (let p = 0; p < pairs.count; p++) {
  console.log(`  pair ${pairs.left[p]} ~ ${pairs.right[p]}: similarity ${pairs.similarity[p]!.toFixed(3)}`);
}
const clusterIds = clusterPairs(batch.count, pairs.left, pairs.right);
const clusters = new Map<number, number[]>();
clusterIds.forEach((representative, id) => {
  const members = clusters.get(Number(representative)) ?? [];
  members.push(id);
  clusters.set(Number(representative), members);
});
for (const [representative, members] of clusters) {
  if (members.length > 1) {
    console.log(`cluster of ${members.length}: keep ${representative}, drop ${members.slice(1).join(', ')}`);
  }
}

// 5. A new document against the index: everything at or above the
// threshold, most similar first.
const query = signatureFromText(
  'The quick brown fox jumps over the lazy dog while the farmer sleeps in the barn and the cat watches the birds.');
const matches = index.rangeSearch(query, 1, 0.5).row(0);
console.log(`new document: ${[...matches.ids].map((id, i) => `${id} (${matches.distances[i]!.toFixed(3)})`).join(', ')}`);
