/**
 * The binding's hot sync calls (issue 14, "the binding's overhead"): small
 * results are views of shared pools, strings are encoded into a reused
 * buffer, the signature options reach C as the struct's bytes and the
 * error out-buffer is shared. What this must not change: every result is
 * the caller's alone (distinct memory, intact when its buffer is
 * transferred), long and non-ASCII strings sign as their UTF-8 bytes, every
 * option field reaches C, and a failed call leaves nothing behind for the
 * next one.
 */
import { expect } from 'chai';

import {
  KnowhereError, MinHashLSHIndex, NearDuplicateIndex, Status, signatureFromText, signaturesFromTexts,
  type SignatureOptions,
} from '../ts/index.ts';
import { transientDocumentBytes } from '../ts/signature.ts';
import { expectKnowhereError, generator, thrown } from './fixtures/helpers.ts';

const LENGTH = 32;

function randomIndex(n: number): { index: MinHashLSHIndex; data: Uint32Array } {
  const next = generator(99);
  const data = new Uint32Array(n * LENGTH);
  for (let i = 0; i < data.length; i++) data[i] = next() % 4; // small alphabet: many candidates
  const index = new MinHashLSHIndex();
  index.build(data, LENGTH, 4, 8, true);
  return { index, data };
}

describe('binding calls: small results come from shared pools', () => {
  it('two searches return views of one pooled buffer, at different places, each keeping its values', () => {
    const { index, data } = randomIndex(200);
    const a = index.search(data.subarray(0, LENGTH), 10);
    const aIds = a.ids.slice();
    const aDistances = a.distances.slice();
    const b = index.search(data.subarray(5 * LENGTH, 6 * LENGTH), 10);
    // One ArrayBuffer serves many results (a new one per result cost about 0.25 us).
    expect(b.ids.buffer).to.equal(a.ids.buffer);
    expect(a.distances.buffer).to.equal(a.ids.buffer);
    const ranges = [a.ids, a.distances, b.ids, b.distances].map((v) => [v.byteOffset, v.byteOffset + v.byteLength]);
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [s1, e1] = ranges[i] as number[];
        const [s2, e2] = ranges[j] as number[];
        expect((e1 as number) <= (s2 as number) || (e2 as number) <= (s1 as number), `views ${i} and ${j} overlap`).to.equal(true);
      }
    }
    b.ids.fill(-7n);
    b.distances.fill(-7);
    expect(a.ids).to.deep.equal(aIds);
    expect(a.distances).to.deep.equal(aDistances);
    expect(a.ids[0]).to.equal(0n);
    index.close();
  });

  it('signatures share pools too, and equal those of a batch', () => {
    const x = signatureFromText('the quick brown fox jumps over the lazy dog');
    const y = signatureFromText('a completely different text about something else entirely');
    expect(y.buffer).to.equal(x.buffer);
    expect(x.byteOffset + x.byteLength <= y.byteOffset || y.byteOffset + y.byteLength <= x.byteOffset).to.equal(true);
    const batch = signaturesFromTexts(['the quick brown fox jumps over the lazy dog',
      'a completely different text about something else entirely']);
    expect(x).to.deep.equal(batch.row(0));
    expect(y).to.deep.equal(batch.row(1));
  });

  it('transferring a result\'s buffer copies it: that result and the others of its pool stay intact', () => {
    const { index, data } = randomIndex(200);
    const a = index.search(data.subarray(0, LENGTH), 10);
    const b = index.search(data.subarray(LENGTH, 2 * LENGTH), 10);
    const before = [a.ids.slice(), b.ids.slice()];
    const moved = structuredClone(a.ids, { transfer: [a.ids.buffer as ArrayBuffer] });
    expect(moved).to.deep.equal(before[0]);
    expect(a.ids.length).to.equal(10); // not detached
    expect(a.ids).to.deep.equal(before[0]);
    expect(b.ids).to.deep.equal(before[1]);
    index.close();
  });

  it('large results get buffers of their own', () => {
    const { index, data } = randomIndex(300);
    const r = index.search(data.subarray(0, LENGTH), 200);
    expect(r.ids.buffer.byteLength).to.equal(200 * 12);
    expect(r.ids.byteOffset).to.equal(0);
    const wide = signatureFromText('some words here and there', { numHashes: 4096 });
    expect(wide.buffer.byteLength).to.equal(4096 * 4);
    index.close();
  });
});

describe('binding calls: strings are encoded into a reused buffer', () => {
  it('two strings are encoded into the same memory (not a new buffer each, as Buffer.from does past 4 KiB)', () => {
    const first = 'first text '.repeat(500);
    const a = transientDocumentBytes(first, 'text');
    expect(Buffer.from(a).toString()).to.equal(first);
    const b = transientDocumentBytes('second', 'text');
    expect(b.buffer).to.equal(a.buffer);
    expect(Buffer.from(b).toString()).to.equal('second');
    const bytes = Uint8Array.of(1, 2, 3);
    expect(transientDocumentBytes(bytes, 'text')).to.equal(bytes); // bytes are passed as they are
  });

  it('short, growing, very long, non-ASCII and ill-formed strings sign as their UTF-8 bytes', () => {
    const next = generator(5);
    const word = (): string => ['alpha', 'βήτα', 'ğamma', '😀delta', 'e\u0301psilon', 'zeta'][next() % 6] as string;
    const texts = ['', 'x', 'lone \ud800 surrogate \udc00 here and there', 'a b c d'];
    for (const words of [10, 1000, 30_000, 400_000]) { // the last is past the reused buffer's limit (1 Mi units)
      texts.push(Array.from({ length: words }, word).join(' '));
    }
    texts.push('after the long ones: a short text again');
    for (const text of texts) {
      expect(signatureFromText(text), `${text.length} units`).to.deep.equal(signatureFromText(Buffer.from(text, 'utf8')));
    }
  });

  it('NearDuplicateIndex: a document offered right after another finds it, whatever their lengths', () => {
    using index = new NearDuplicateIndex({ threshold: 0.9 });
    const long = Array.from({ length: 5000 }, (_, i) => `word${i % 997} w${i % 13}`).join(' ');
    const short = 'a short document with a few words in it for the test';
    expect(index.addIfNew('long', long).added).to.equal(true);
    expect(index.addIfNew('short', short).added).to.equal(true);
    expect(index.addIfNew('long again', long)).to.deep.include({ added: false, duplicateOf: 'long', similarity: 1 });
    expect(index.addIfNew('short again', short)).to.deep.include({ added: false, duplicateOf: 'short', similarity: 1 });
    expect(index.query(long)[0]).to.deep.equal({ key: 'long', similarity: 1 });
  });
});

describe('binding calls: options as bytes, one shared error buffer', () => {
  it('every option field reaches C: single signatures equal batch rows (options converted by koffi)', () => {
    const text = 'The Quick brown fox, jumps over the lazy dog; and again THE quick brown fox';
    const matrix: SignatureOptions[] = [
      { seed: 2n ** 64n - 1n }, { seed: 2n ** 63n + 5n, numHashes: 7 }, { keepCase: true },
      { shingle: 'chars', shingleSize: 5 }, { valueBytes: 8, numHashes: 33 }, { shingleSize: 1, seed: 1 },
    ];
    for (const options of matrix) {
      expect(signatureFromText(text, options), JSON.stringify(options, (_, v: unknown) =>
        (typeof v === 'bigint' ? String(v) : v))).to.deep.equal(signaturesFromTexts([text], options).row(0));
    }
    expect(signatureFromText(text, { seed: 1 })).to.not.deep.equal(signatureFromText(text, { seed: 2 }));
    expect(signatureFromText(text, { keepCase: true })).to.not.deep.equal(signatureFromText(text));
  });

  it('a failed call reports its own error, and the next call neither fails nor sees it', () => {
    const { index, data } = randomIndex(50);
    const tooShort = data.subarray(0, LENGTH - 1);
    expectKnowhereError(thrown(() => index.search(tooShort, 3)), Status.INVALID_ARG);
    expect(index.search(data.subarray(0, LENGTH), 3).ids[0]).to.equal(0n);
    const error = thrown(() => signatureFromText('some text', { numHashes: 0 }));
    expectKnowhereError(error, Status.INVALID_ARG, /num_hashes/);
    expect((error as KnowhereError).message).to.not.match(/query/);
    expect(signatureFromText('some text')).to.have.length(128);
    expectKnowhereError(thrown(() => index.add(tooShort)), Status.INVALID_ARG);
    index.add(data.subarray(0, LENGTH));
    expect(index.count).to.equal(51);
    index.close();
  });
});
