/**
 * Exact shingle similarity through the binding: shingleSimilarity equals
 * the Jaccard similarity of the word 3-shingle sets computed here from
 * strings; the pair calls (sync and async, 1 and many threads) equal it
 * pair by pair; bad ids and options are KnowhereError INVALID_ARG with
 * the library's message; async calls are cancellable and report progress
 * in phase 'verify'.
 */
import { expect } from 'chai';

import {
  InterruptedError, Status, TimeoutError, shingleSimilarities, shingleSimilaritiesAsync, shingleSimilarity,
  type Progress,
} from '../ts/index.ts';
import { jaccard, plantedCorpus, wordShingles } from './fixtures/corpus.ts';
import { expectKnowhereError, generator, rejection, thrown } from './fixtures/helpers.ts';

const corpus = plantedCorpus({ n: 120, originals: 60, rates: [0.02, 0.1, 0.3], vocabulary: 400, seed: 11 });
const texts = corpus.texts;

/** Pairs: each document with its planted original and with a random one. */
function somePairs(): { left: number[]; right: number[] } {
  const next = generator(5);
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    left.push(i, i);
    right.push(corpus.family[i]!, next() % texts.length);
  }
  return { left, right };
}

describe('shingle similarity: exact Jaccard of shingle sets', () => {
  it('equals the Jaccard similarity of the word 3-shingle sets, computed from strings', () => {
    const { left, right } = somePairs();
    let partial = 0;
    for (let i = 0; i < left.length; i++) {
      const a = texts[left[i]!]!;
      const b = texts[right[i]!]!;
      const want = jaccard(wordShingles(a.split(' ')), wordShingles(b.split(' ')));
      expect(shingleSimilarity(a, b), `pair ${left[i]}, ${right[i]}`).to.equal(want);
      if (want > 0.3 && want < 1) partial++;
    }
    expect(partial, 'pairs with 0.3 < J < 1').to.be.above(30);
  });

  it('normalises as signatures do: case, whitespace runs, UTF-8 bytes, invalid bytes as U+FFFD', () => {
    expect(shingleSimilarity('The  QUICK\tbrown fox', ' the quick brown fox')).to.equal(1);
    expect(shingleSimilarity('a b c d e', Buffer.from('a b c d f'))).to.equal(0.5);
    expect(shingleSimilarity(Uint8Array.of(0x78, 0x20, 0xff), Uint8Array.of(0x78, 0x20, 0xfe),
      { shingleSize: 1 })).to.equal(1);
    expect(shingleSimilarity('ABC', 'abc', { shingle: 'chars', shingleSize: 3, keepCase: true })).to.equal(0);
    expect(shingleSimilarity('abcd', 'ABCE', { shingle: 'chars', shingleSize: 3 })).to.equal(1 / 3);
    expect(shingleSimilarity('', ' \n')).to.equal(1);
    expect(shingleSimilarity('', 'a b c')).to.equal(0);
  });

  it('the pair calls equal the single call, sync and async, with 1 and many threads', async () => {
    const { left, right } = somePairs();
    const want = Float64Array.from(left, (l, i) => shingleSimilarity(texts[l]!, texts[right[i]!]!));
    for (const threads of [1, 3, 0]) {
      expect(shingleSimilarities(texts, left, right, { threads }), `sync, ${threads} threads`).to.deep.equal(want);
      expect(await shingleSimilaritiesAsync(texts, BigInt64Array.from(left, BigInt),
        BigInt64Array.from(right, BigInt), { threads }), `async, ${threads} threads`).to.deep.equal(want);
    }
    expect(shingleSimilarities(texts, [], [])).to.deep.equal(new Float64Array(0));
  });

  it('bad ids, mismatched pair lists and bad options are KnowhereError INVALID_ARG', async () => {
    expectKnowhereError(thrown(() => shingleSimilarities(['a b c', 'a b d'], [0, 1], [1, 2])), Status.INVALID_ARG,
      /pair 1 is \(1, 2\); documents are 0\.\.1/);
    expectKnowhereError(await rejection(shingleSimilaritiesAsync(['a'], [-1], [0])), Status.INVALID_ARG,
      /pair 0 is \(-1, 0\)/);
    expectKnowhereError(thrown(() => shingleSimilarities(['a'], [0, 0], [0])), Status.INVALID_ARG,
      /same length/);
    expectKnowhereError(thrown(() => shingleSimilarity('a', 'b', { shingleSize: 0 })), Status.INVALID_ARG,
      /shingle_size is 0/);
    expectKnowhereError(thrown(() => shingleSimilarity('a', 42 as unknown as string)), Status.INVALID_ARG,
      /b must be a string or a Uint8Array/);
  });
});

describe('shingle similarity: async pairs are cancellable and report progress', function () {
  this.timeout(60_000);
  /** Two long documents and many pairs of them: each pair merges about
   * 100 000 hashes, so the whole takes seconds. */
  const long = [0, 1].map((seed) => {
    const next = generator(seed + 100);
    return Array.from({ length: 50_000 }, () => `w${next() % 20_000}`).join(' ');
  });
  const left = new Array<number>(20_000).fill(0);
  const right = new Array<number>(20_000).fill(1);

  it('aborting the signal rejects with InterruptedError; a deadline with TimeoutError', async () => {
    const controller = new AbortController();
    const pending = shingleSimilaritiesAsync(long, left, right, { signal: controller.signal, threads: 1 });
    setTimeout(() => { controller.abort(); }, 20);
    const error = await rejection(pending);
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as Error).message).to.match(/shingle similarities interrupted/);
    const timedOut = await rejection(shingleSimilaritiesAsync(long, left, right,
      { signal: AbortSignal.timeout(20), threads: 1 }));
    expect(timedOut).to.be.instanceOf(TimeoutError);
  });

  it('onProgress reports phase "verify": documents shingled plus pairs, ending with done === total', async () => {
    const reports: Progress[] = [];
    const few = { left: left.slice(0, 2000), right: right.slice(0, 2000) };
    const result = await shingleSimilaritiesAsync(long, few.left, few.right,
      { threads: 1, onProgress: (p) => { reports.push({ ...p }); } });
    expect(result.length).to.equal(2000);
    expect(new Set(result).size, 'the same pair every time').to.equal(1);
    const last = reports[reports.length - 1]!;
    expect(last).to.deep.equal({ done: 2 + 2000, total: 2 + 2000, phase: 'verify' });
    reports.forEach((report, i) => {
      expect(report.phase).to.equal('verify');
      if (i > 0) expect(report.done).to.be.above(reports[i - 1]!.done);
    });
  });
});
