// Plain Node ESM, as a user writes it: import the package, index a few
// signatures, find a near-duplicate. Prints one JSON line for the test.
import { MinHashLSHIndex, signatureFromText, libraryPath, version } from 'knowhere-rs';

const texts = [
  'the quick brown fox jumps over the lazy dog while the cat sleeps in the sun',
  'an entirely different text about indexes, hashing and the search for copies',
  'the quick brown fox jumps over the lazy dog while the cat sleeps in the sun today',
];
const signatures = new Uint32Array(texts.length * 128);
texts.forEach((text, i) => signatures.set(signatureFromText(text), i * 128));
const index = new MinHashLSHIndex();
index.build(signatures, 128, 4, 16, true);
const { ids, distances } = index.search(signatures.subarray(0, 128), 2);
index.close();
console.log(JSON.stringify({ version: version(), library: libraryPath(), ids: [...ids].map(Number), best: distances[1] }));
