/**
 * Golden signatures through the binding: for every text and scheme of
 * test/golden/signatures.txt (scripts/gen-golden.py, from the independent
 * Python implementation of docs/signatures.md), signatureFromText,
 * * and signaturesFromTexts (1 and 3 threads) give exactly
 * the recorded bytes and shingle counts, and bandKeys the recorded keys; the
 * file's scheme version is what an index records. A change of the hashing
 * fails here (and in test/c/test_golden.c) until the file is regenerated
 * and the scheme version bumped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import {
  MinHashLSHIndex, bandKeys, signatureFromText, signaturesFromTexts, type SignatureOptions,
} from '../ts/index.ts';

const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden', 'signatures.txt');

interface GoldenScheme {
  readonly name: string;
  readonly options: SignatureOptions & { readonly numHashes: number; readonly valueBytes: 4 | 8 };
  readonly bands: number;
  readonly sig: Map<number, { count: number; bytes: Buffer }>;
  readonly keys: Map<number, bigint[]>;
}

function load(): { version: number; docs: Buffer[]; schemes: GoldenScheme[] } {
  const docs: Buffer[] = [];
  const schemes: GoldenScheme[] = [];
  let version = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(' ');
    if (f[0] === 'version') version = Number(f[1]);
    else if (f[0] === 'doc') docs.push(Buffer.from(f[2] === '-' ? '' : f[2]!, 'hex'));
    else if (f[0] === 'scheme') {
      const [, name, kind, size, k, vb, seed, keep, bands] = f;
      schemes.push({
        name: name!,
        options: {
          shingle: kind as 'words' | 'chars', shingleSize: Number(size), numHashes: Number(k),
          valueBytes: Number(vb) as 4 | 8, seed: BigInt(seed!), keepCase: keep === '1',
        },
        bands: Number(bands), sig: new Map(), keys: new Map(),
      });
    } else {
      const scheme = schemes.find((s) => s.name === f[1])!;
      if (f[0] === 'sig') scheme.sig.set(Number(f[2]), { count: Number(f[3]), bytes: Buffer.from(f[4]!, 'hex') });
      else scheme.keys.set(Number(f[2]), f.slice(3).map((h) => BigInt(`0x${h}`)));
    }
  }
  return { version, docs, schemes };
}

const bytesOf = (values: Uint32Array | BigUint64Array): Buffer =>
  Buffer.from(values.buffer, values.byteOffset, values.byteLength);

describe('golden signatures (test/golden/signatures.txt)', () => {
  const golden = load();

  it('has documents and schemes, and the scheme version an index records', () => {
    expect(golden.docs.length).to.be.at.least(10);
    expect(golden.schemes.length).to.be.at.least(2);
    const index = new MinHashLSHIndex();
    index.setSignatureScheme({});
    expect(index.signatureScheme?.version).to.equal(golden.version);
    index.close();
  });

  for (const scheme of golden.schemes) {
    it(`${scheme.name}: one at a time, in batches on 1 and 3 threads, and the band keys`, () => {
      const texts = golden.docs;
      texts.forEach((text, i) => {
        const want = scheme.sig.get(i)!;
        expect(bytesOf(signatureFromText(text, scheme.options)).equals(want.bytes), `document ${i}`).to.equal(true);
        const keys = bandKeys(want.bytes, scheme.options.numHashes, scheme.options.valueBytes, scheme.bands);
        expect(Array.from(keys), `keys of document ${i}`).to.deep.equal(scheme.keys.get(i));
      });
      for (const threads of [1, 3]) {
        const batch = signaturesFromTexts(texts, { ...scheme.options, threads });
        const size = scheme.options.numHashes * scheme.options.valueBytes;
        texts.forEach((_, i) => {
          const want = scheme.sig.get(i)!;
          expect(batch.shingleCounts[i], `count of document ${i}`).to.equal(want.count);
          expect(bytesOf(batch.values).subarray(i * size, (i + 1) * size).equals(want.bytes),
            `document ${i} on ${threads} threads`).to.equal(true);
        });
      }
    });
  }
});
