/**
 * Signatures through the binding: single and batch agree, typed output
 * feeds MinHashLSHIndex.build directly, near-duplicates are found, the
 * estimate tracks the exact Jaccard similarity, the library's option
 * errors come through as KnowhereError INVALID_ARG with its message, and
 * async batches are cancellable (InterruptedError, TimeoutError) with
 * progress in phase 'sign'.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { expect } from 'chai';

import {
  Interrupt, InterruptedError, KnowhereError, MinHashLSHIndex, SignatureBatch, Status, TimeoutError,
  estimateSimilarity, signatureFromHashes, signatureFromText, signatureFromTokens, signaturesFromTexts,
  signaturesFromTextsAsync, type Progress, type SignatureOptions,
} from '../ts/index.ts';
import { jaccard, plantedCorpus, vocabulary, wordShingles } from './fixtures/corpus.ts';
import { expectKnowhereError, generator, rejection, thrown } from './fixtures/helpers.ts';

const corpus = plantedCorpus({ n: 300, originals: 150, rates: [0.02, 0.05, 0.1], vocabulary: 3000, seed: 7 });

/** Documents for the option matrix: words, punctuation, case, Unicode,
 * whitespace runs, short texts. */
const varied = [
  ...corpus.texts.slice(0, 40),
  'The  Quick\tBrown\n\nFox — jumps over the lazy dog!',
  'the quick brown fox — jumps over the lazy dog!',
  'ΣΊΣΥΦΟΣ İstanbul straße ǅemal',
  'two words',
  'x',
  '',
  '   \n\t ',
];

const optionMatrix: SignatureOptions[] = [
  {},
  { numHashes: 64 },
  { shingle: 'chars' },
  { shingle: 'chars', shingleSize: 3 },
  { shingle: 'words', shingleSize: 1 },
  { valueBytes: 8 },
  { keepCase: true },
  { seed: 12345 },
  { seed: 0xffff_ffff_ffff_fff0n, numHashes: 200, valueBytes: 8 },
];

/** A large batch: many documents of a few hundred words. */
function largeCorpus(n: number): string[] {
  const vocab = vocabulary(2000, 99);
  const next = generator(99);
  return Array.from({ length: n }, () => Array.from({ length: 200 }, () => vocab[next() % vocab.length]!).join(' '));
}

describe('signatures: single documents and batches', () => {
  it('a batch row equals the single signature of that document, for every option set', () => {
    for (const options of optionMatrix) {
      const label = JSON.stringify(options, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
      const batch = signaturesFromTexts(varied, options);
      expect(batch.count, label).to.equal(varied.length);
      varied.forEach((text, i) => {
        const single = signatureFromText(text, options);
        expect([...batch.row(i)], `${label} doc ${i}`).to.deep.equal([...single]);
      });
    }
  });

  it('the async batch equals the sync batch, with 1 and many threads', async () => {
    const sync = signaturesFromTexts(corpus.texts);
    for (const threads of [1, 0, 3]) {
      const async = await signaturesFromTextsAsync(corpus.texts, { threads });
      expect(async.values).to.deep.equal(sync.values);
      expect(async.shingleCounts).to.deep.equal(sync.shingleCounts);
    }
  });

  it('a string and its UTF-8 bytes give the same signature; invalid UTF-8 is read as U+FFFD', () => {
    const text = 'naïve café ☕ 𝄞 music';
    expect([...signatureFromText(Buffer.from(text, 'utf8'))]).to.deep.equal([...signatureFromText(text)]);
    const invalid = Uint8Array.from([0x61, 0x20, 0xff, 0x20, 0x62]);
    expect([...signatureFromText(invalid, { shingleSize: 1 })])
      .to.deep.equal([...signatureFromText('a \ufffd b', { shingleSize: 1 })]);
  });

  it('normalisation: case and whitespace runs do not matter, unless keepCase', () => {
    const a = 'The  Quick\tBrown\n\nFox jumps';
    const b = 'the quick brown fox jumps';
    expect([...signatureFromText(a)]).to.deep.equal([...signatureFromText(b)]);
    expect([...signatureFromText(a, { keepCase: true })]).to.not.deep.equal([...signatureFromText(b, { keepCase: true })]);
  });

  it('outputs Uint32Array for 4-byte values and BigUint64Array for 8, K values per document', () => {
    const narrow = signatureFromText('a b c d e');
    expect(narrow).to.be.instanceOf(Uint32Array);
    expect(narrow.length).to.equal(128);
    const wide = signatureFromText('a b c d e', { valueBytes: 8, numHashes: 32 });
    expect(wide).to.be.instanceOf(BigUint64Array);
    expect(wide.length).to.equal(32);
    // The low 4 bytes of the 8-byte values are the 4-byte values.
    const low = signatureFromText('a b c d e', { numHashes: 32 });
    expect([...wide].map((v) => Number(v & 0xffff_ffffn))).to.deep.equal([...low]);
    const batch = signaturesFromTexts(['a b c d', 'e f g h'], { valueBytes: 8, numHashes: 16 });
    expect(batch).to.be.instanceOf(SignatureBatch);
    expect(batch.values).to.be.instanceOf(BigUint64Array);
    expect(batch.values.length).to.equal(32);
    expect(batch.valueBytes).to.equal(8);
    expect(batch.numHashes).to.equal(16);
  });

  it('an empty or whitespace-only document has 0 shingles and the all-ones signature', () => {
    const batch = signaturesFromTexts(['', ' \n\t ', 'word'], { numHashes: 16 });
    expect([...batch.shingleCounts]).to.deep.equal([0, 0, 1]);
    expect([...batch.row(0)]).to.deep.equal(new Array<number>(16).fill(0xffff_ffff));
    expect([...batch.row(1)]).to.deep.equal(new Array<number>(16).fill(0xffff_ffff));
    expect([...signatureFromText('', { valueBytes: 8, numHashes: 4 })]).to.deep.equal(new Array(4).fill(2n ** 64n - 1n));
  });

  it('shingle counts are the distinct word 3-shingles of each document', () => {
    const batch = signaturesFromTexts(corpus.texts);
    corpus.texts.forEach((text, i) => {
      expect(batch.shingleCounts[i], `doc ${i}`).to.equal(wordShingles(text.split(' ')).size);
    });
  });

  it('signatures of token hashes ignore duplicates and order', () => {
    const a = signatureFromHashes([1n, 2n, 3n, 2n, 1n]);
    const b = signatureFromHashes(BigUint64Array.from([3n, 1n, 2n]));
    expect([...a]).to.deep.equal([...b]);
    expect([...signatureFromHashes([1n, 2n, 4n])]).to.not.deep.equal([...a]);
    expect(signatureFromHashes([5n], { valueBytes: 8 })).to.be.instanceOf(BigUint64Array);
  });

  it('pre-split words give the signature of their text; shingle strings with shingleSize 1 too', () => {
    for (const text of [...corpus.texts.slice(0, 30), 'Été  DÉJÀ\tvu, ΣΟΦΙΑ and the\nend', 'one', '']) {
      const words = text.split(/\s+/u).filter((w) => w !== '').map((w) => w.toLowerCase());
      expect([...signatureFromTokens(words)], text).to.deep.equal([...signatureFromText(text)]);
      const shingles = words.length < 3 ? [words.join(' ')].filter((s) => s !== '')
        : words.slice(0, words.length - 2).map((_, i) => words.slice(i, i + 3).join(' '));
      expect([...signatureFromTokens(shingles, { shingleSize: 1 })], text).to.deep.equal([...signatureFromText(text)]);
      const eight = signatureFromTokens(words.map((w) => Buffer.from(w)), { valueBytes: 8, numHashes: 64, seed: 3n });
      expect(eight).to.be.instanceOf(BigUint64Array);
      expect([...eight]).to.deep.equal([...signatureFromText(text, { valueBytes: 8, numHashes: 64, seed: 3n })]);
    }
    // Tokens are taken as they are: case counts, a space inside is a byte.
    expect([...signatureFromTokens(['New', 'York'])]).to.not.deep.equal([...signatureFromTokens(['new', 'york'])]);
    expect([...signatureFromTokens(['new york'], { shingleSize: 1 })])
      .to.deep.equal([...signatureFromText('New York', { shingleSize: 2 })]);
    expectKnowhereError(thrown(() => signatureFromTokens(['a'], { shingle: 'chars' })), Status.INVALID_ARG,
      /tokens make word shingles only/);
    expectKnowhereError(thrown(() => signatureFromTokens(['a', 3 as unknown as string])), Status.INVALID_ARG,
      /tokens\[1\] must be a string or a Uint8Array/);
    expectKnowhereError(thrown(() => signatureFromTokens('a b' as unknown as string[])), Status.INVALID_ARG,
      /tokens must be an array/);
  });

  it('the estimate from token-hash signatures tracks the exact Jaccard similarity of the sets', () => {
    // Sets of 400 tokens sharing `common` of them: J = common / (800 - common).
    for (const common of [0, 100, 200, 300, 400]) {
      const a = Array.from({ length: 400 }, (_, i) => BigInt(i));
      const b = Array.from({ length: 400 }, (_, i) => BigInt(i < common ? i : 10_000 + i));
      const exact = common / (800 - common);
      const estimate = estimateSimilarity(signatureFromHashes(a, { numHashes: 1024 }),
        signatureFromHashes(b, { numHashes: 1024 }));
      expect(estimate, `common ${common}`).to.be.closeTo(exact, 0.06);
    }
  });
});

describe('signatures: feeding the index', () => {
  it('a batch builds an index directly, and every document finds itself first', () => {
    const batch = signaturesFromTexts(corpus.texts);
    using index = new MinHashLSHIndex();
    index.build(batch.values, batch.numHashes, batch.valueBytes, 16, true);
    expect(index.count).to.equal(corpus.texts.length);
    expect(index.mhVecLength).to.equal(128);
    expect(index.elementSize).to.equal(4);
    const result = index.batchSearch(batch.values, batch.count, 1);
    for (let i = 0; i < batch.count; i++) {
      expect(result.row(i).distances[0], `doc ${i}`).to.equal(1);
    }
    // A single signature is a query as it is.
    expect(index.search(signatureFromText(corpus.texts[17]!), 1).distances[0]).to.equal(1);
  });

  it('8-byte batches build an index too', () => {
    const batch = signaturesFromTexts(corpus.texts.slice(0, 50), { valueBytes: 8, numHashes: 64 });
    using index = new MinHashLSHIndex();
    index.build(batch.values, batch.numHashes, batch.valueBytes, 8, true);
    expect(index.elementSize).to.equal(8);
    expect(index.search(batch.row(3), 1).ids[0]).to.equal(3n);
  });

  it('a near-duplicate among unrelated documents is found, with an estimate close to its exact similarity', () => {
    const vocab = vocabulary(5000, 3);
    const next = generator(3);
    const docs = Array.from({ length: 500 }, () => Array.from({ length: 150 }, () => vocab[next() % vocab.length]!));
    const copy = [...docs[123]!];
    copy[10] = 'different';
    copy.splice(90, 1);
    docs.push(copy);
    const batch = signaturesFromTexts(docs.map((d) => d.join(' ')));
    using index = new MinHashLSHIndex();
    index.build(batch.values, batch.numHashes, batch.valueBytes, 16, true);
    const result = index.search(batch.row(500), 2);
    expect(result.ids[0]).to.equal(500n);
    expect(result.ids[1]).to.equal(123n);
    const exact = jaccard(wordShingles(docs[123]!), wordShingles(copy));
    expect(exact).to.be.within(0.9, 0.98);
    expect(result.distances[1]).to.be.closeTo(exact, 0.1);
  });

  it('estimates of many planted pairs are unbiased, with the spread MinHash predicts', () => {
    const batch = signaturesFromTexts(corpus.texts);
    const errors: number[] = [];
    corpus.family.forEach((family, i) => {
      if (family === i) return;
      const exact = jaccard(wordShingles(corpus.texts[i]!.split(' ')), wordShingles(corpus.texts[family]!.split(' ')));
      errors.push(estimateSimilarity(batch.row(i), batch.row(family)) - exact);
    });
    expect(errors.length).to.be.above(100);
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((a, b) => a + b * b, 0) / errors.length);
    expect(Math.abs(mean), 'bias').to.be.below(0.01);
    // At most sqrt(0.25 / 128) = 0.044 for any J; less away from J = 0.5.
    expect(sd, 'spread').to.be.below(0.045);
  });

  it('estimateSimilarity refuses signatures of different shapes', () => {
    expectKnowhereError(thrown(() => estimateSimilarity(new Uint32Array(4), new Uint32Array(5))), Status.INVALID_ARG);
    expectKnowhereError(thrown(() => estimateSimilarity(new Uint32Array(4), new BigUint64Array(4))),
      Status.INVALID_ARG);
  });
});

describe('signatures: options the library refuses', () => {
  const cases: [SignatureOptions, RegExp][] = [
    [{ numHashes: 0 }, /num_hashes is 0; it must be 1\.\.65536/],
    [{ numHashes: 65537 }, /num_hashes is 65537/],
    [{ shingleSize: 0 }, /shingle_size is 0/],
    [{ shingleSize: 65 }, /shingle_size is 65/],
    [{ valueBytes: 5 as 4 }, /value_bytes is 5; it must be 4 or 8/],
    [{ valueBytes: 2 as 4 }, /value_bytes is 2/],
  ];

  it('single, batch and async batch throw KnowhereError INVALID_ARG with the C message', async () => {
    for (const [options, message] of cases) {
      expectKnowhereError(thrown(() => signatureFromText('a b c', options)), Status.INVALID_ARG, message);
      expectKnowhereError(thrown(() => signatureFromHashes([1n], options)), Status.INVALID_ARG, message);
      expectKnowhereError(thrown(() => signaturesFromTexts(['a b c'], options)), Status.INVALID_ARG, message);
      expectKnowhereError(await rejection(signaturesFromTextsAsync(['a b c'], options)), Status.INVALID_ARG, message);
    }
  });

  it('JS type errors are INVALID_ARG from the binding, before any native call', async () => {
    const bad: [unknown, RegExp][] = [
      [{ shingle: 'lines' }, /shingle must be 'words' or 'chars'/],
      [{ numHashes: -1 }, /numHashes must be a non-negative integer/],
      [{ numHashes: 1.5 }, /numHashes must be a non-negative integer/],
      [{ numHashes: 2 ** 32 }, /numHashes must be at most/],
      [{ keepCase: 'yes' }, /keepCase must be a boolean/],
      [{ seed: -1 }, /seed must be a non-negative integer/],
      [{ seed: 2n ** 64n }, /seed must fit in 64 bits/],
      [{ threads: -2 }, /threads must be a non-negative integer/],
      ['fast', /options must be an object/],
    ];
    for (const [options, message] of bad) {
      const call = (): unknown => signaturesFromTexts(['a'], options as SignatureOptions);
      expectKnowhereError(thrown(call), Status.INVALID_ARG, message);
    }
    expectKnowhereError(thrown(() => signatureFromText(42 as unknown as string)), Status.INVALID_ARG,
      /text must be a string or a Uint8Array/);
    expectKnowhereError(thrown(() => signaturesFromTexts(['a', 7 as unknown as string])), Status.INVALID_ARG,
      /texts\[1\] must be a string/);
    expectKnowhereError(thrown(() => signaturesFromTexts('abc' as unknown as string[])), Status.INVALID_ARG,
      /texts must be an array/);
    expectKnowhereError(thrown(() => signatureFromHashes([1n, -1n])), Status.INVALID_ARG, /hashes\[1\]/);
    expectKnowhereError(await rejection(signaturesFromTextsAsync(['a'], { signal: 'x' as unknown as AbortSignal })),
      Status.INVALID_ARG, /signal must be an AbortSignal/);
  });

  it('row() refuses rows outside the batch', () => {
    const batch = signaturesFromTexts(['a', 'b']);
    expectKnowhereError(thrown(() => batch.row(2)), Status.INVALID_ARG, /row 2 is out of range/);
    expectKnowhereError(thrown(() => batch.row(-1)), Status.INVALID_ARG);
  });
});

describe('signatures: async batches are cancellable and report progress', function () {
  this.timeout(120_000);
  let large: string[];
  /** How long the whole large batch takes on one thread. */
  let fullMs = 0;
  before(async () => {
    large = largeCorpus(60_000);
    const started = performance.now();
    await signaturesFromTextsAsync(large, { threads: 1 });
    fullMs = performance.now() - started;
  });
  after(() => { large = []; });

  it('aborting the signal stops a large batch soon: InterruptedError with the reason as cause', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const pending = signaturesFromTextsAsync(large, { signal: controller.signal, threads: 1 });
    setTimeout(() => { controller.abort(reason); }, 20);
    const started = performance.now();
    const error = await rejection(pending);
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as InterruptedError).status).to.equal(Status.INTERRUPTED);
    expect((error as InterruptedError).cause).to.equal(reason);
    expect((error as Error).message).to.match(/signature batch interrupted/);
    // Stopped well before the whole batch could have been signed.
    expect(performance.now() - started, `the whole batch takes ${fullMs.toFixed(0)} ms`).to.be.below(fullMs / 2);
  });

  it('an already aborted signal rejects before any native work', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(signaturesFromTextsAsync(['a b c'], { signal: controller.signal }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as Error).message).to.match(/before it started/);
  });

  it('an Interrupt stops a batch (InterruptedError); a deadline gives TimeoutError', async () => {
    using interrupt = new Interrupt();
    const pending = signaturesFromTextsAsync(large, { interrupt, threads: 1 });
    setTimeout(() => { interrupt.interrupt(); }, 20);
    const error = await rejection(pending);
    expect(error).to.be.instanceOf(InterruptedError);
    expect(error).to.not.be.instanceOf(TimeoutError);

    using deadline = Interrupt.withTimeout(20);
    const timedOut = await rejection(signaturesFromTextsAsync(large, { interrupt: deadline, threads: 1 }));
    expect(timedOut).to.be.instanceOf(TimeoutError);
    expect((timedOut as KnowhereError).status).to.equal(Status.TIMEOUT);

    const signalled = await rejection(signaturesFromTextsAsync(large, { signal: AbortSignal.timeout(20), threads: 1 }));
    expect(signalled).to.be.instanceOf(TimeoutError);
  });

  it('onProgress reports phase "sign" in documents, monotonic, ending with done === total', async () => {
    const reports: Progress[] = [];
    const batch = await signaturesFromTextsAsync(large, { threads: 1, onProgress: (p) => { reports.push({ ...p }); } });
    expect(batch.count).to.equal(large.length);
    expect(reports.length, JSON.stringify(reports)).to.be.at.least(2);
    const last = reports[reports.length - 1]!;
    expect(last).to.deep.equal({ done: large.length, total: large.length, phase: 'sign' });
    reports.forEach((report, i) => {
      expect(report.phase).to.equal('sign');
      expect(report.total).to.equal(large.length);
      if (i > 0) expect(report.done).to.be.above(reports[i - 1]!.done);
    });
  });

  it('a throwing onProgress cancels the batch and becomes its rejection', async () => {
    const stop = new Error('enough');
    expect(await rejection(signaturesFromTextsAsync(large, { threads: 1, onProgress: () => { throw stop; } })))
      .to.equal(stop);
  });

  it('the event loop keeps running while a batch is signed', async () => {
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    try {
      await signaturesFromTextsAsync(large, { threads: 1 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).to.be.above(10);
  });

  it('async batches keep their buffers alive through garbage collections', function () {
    // In a child with --expose-gc: the texts, offsets and outputs of
    // in-flight batches are unreachable from JS while gc() runs.
    const indexUrl = new URL('../ts/index.ts', import.meta.url).href;
    const tsxUrl = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const script = `
      const { signaturesFromTexts, signaturesFromTextsAsync } = await import(${JSON.stringify(indexUrl)});
      const texts = Array.from({ length: 300 }, (_, i) => 'doc ' + i + ' ' + 'w'.repeat(i % 17) + ' x y z ' + i * 7);
      const reference = signaturesFromTexts(texts).values;
      const gcLoop = setInterval(() => globalThis.gc(), 1);
      let checked = 0;
      for (let round = 0; round < 20; round++) {
        const pending = [];
        for (let k = 0; k < 10; k++) pending.push(signaturesFromTextsAsync(texts.map((t) => t), { threads: 2 }));
        globalThis.gc();
        for (const batch of await Promise.all(pending)) {
          if (!batch.values.every((v, i) => v === reference[i])) throw new Error('different signatures');
          checked++;
        }
      }
      clearInterval(gcLoop);
      process.stdout.write('checked ' + checked);`;
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', tsxUrl, '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 100_000 });
    expect(child.signal, child.stderr).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.equal('checked 200');
  });
});
