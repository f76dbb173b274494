// A strict TypeScript consumer (compiled by the test with nodenext and with
// bundler resolution): the package's .d.ts must type-check under the
// consumer's options, and the compiled program must run.
import {
  InterruptedError, KnowhereError, MinHashLSHIndex, chooseBands, signatureFromText, type SearchResult,
} from 'knowhere-rs';

const texts: readonly string[] = ['alpha beta gamma delta epsilon zeta eta theta', 'iota kappa lambda mu nu xi omicron pi'];
const signatures = new Uint32Array(texts.length * 128);
texts.forEach((text, i) => signatures.set(signatureFromText(text), i * 128));
const { bands }: { bands: number } = chooseBands(128, 0.8);

const index = new MinHashLSHIndex();
index.build(signatures, 128, 4, bands, true);
const result: SearchResult = index.search(signatures.subarray(128, 256), 1);

const controller = new AbortController();
controller.abort();
let interrupted = false;
try {
  await index.buildAsync(signatures, 128, 4, bands, true, { signal: controller.signal });
} catch (error) {
  interrupted = error instanceof InterruptedError && error instanceof KnowhereError && error.isInterrupted();
}
index.close();
console.log(JSON.stringify({ bands, ids: Array.from(result.ids, Number), interrupted }));
