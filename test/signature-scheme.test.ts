/**
 * The signature scheme through the binding: an index records the scheme of
 * its signatures, save/load keep it, and checkSignatureScheme refuses
 * queries made with another (KnowhereError INVALID_ARG naming both); an
 * index that records none accepts any; bad options are refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { expect } from 'chai';

import { KnowhereError, MinHashLSHIndex, Status, signaturesFromTexts } from '../ts/index.ts';
import { expectKnowhereError, thrown } from './fixtures/helpers.ts';

const texts = ['the quick brown fox jumps over the lazy dog', 'the quick brown fox jumped over the lazy dog',
  'lorem ipsum dolor sit amet consectetur', 'Lorem  ipsum dolor sit amet, consectetur'];

describe('signature scheme', () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'knowhere-scheme-')); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('is recorded, saved, loaded, and refuses queries made another way', async () => {
    const scheme = { numHashes: 64, shingle: 'chars' as const, shingleSize: 4, seed: 9n };
    const batch = signaturesFromTexts(texts, scheme);
    const index = new MinHashLSHIndex();
    index.build(batch.values, 64, 4, 16, true);
    expect(index.signatureScheme).to.equal(null);
    index.checkSignatureScheme({ numHashes: 128 }); // nothing recorded: nothing to check
    index.setSignatureScheme(scheme);
    expect(index.signatureScheme).to.deep.equal({
      version: 1, numHashes: 64, shingle: 'chars', shingleSize: 4, valueBytes: 4, keepCase: false, seed: 9n,
    });
    const file = path.join(dir, 'index.bin');
    await index.saveAsync(file);
    const plain = new MinHashLSHIndex();
    plain.build(batch.values, 64, 4, 16, true);
    expect(fs.statSync(file).size).to.equal(plain.serialize().byteLength + 48); // a section, its length and checksum
    plain.close();
    index.close();

    const loaded = await MinHashLSHIndex.loadAsync(file);
    try {
      expect(loaded.signatureScheme?.shingle).to.equal('chars');
      loaded.checkSignatureScheme(scheme);
      const error = thrown(() => loaded.checkSignatureScheme({ numHashes: 64, shingle: 'words', seed: 9n }));
      expectKnowhereError(error, Status.INVALID_ARG,
        /the index holds signatures of chars:4, 64 values of 4 bytes, seed 9, lower-cased, and the queries are words:3, 64 values of 4 bytes, seed 9, lower-cased: they would not match/);
      expect(error).to.be.instanceOf(KnowhereError);
      expectKnowhereError(thrown(() => loaded.checkSignatureScheme({ ...scheme, keepCase: true })),
        Status.INVALID_ARG, /case kept/);
      expectKnowhereError(thrown(() => loaded.setSignatureScheme({ numHashes: 128 })), Status.INVALID_ARG,
        /128 values of 4 bytes, but the index holds 64 values/);
      expectKnowhereError(thrown(() => loaded.setSignatureScheme({ numHashes: 64, shingleSize: 0 })),
        Status.INVALID_ARG, /shingle_size/);
      loaded.setSignatureScheme(null);
      expect(loaded.signatureScheme).to.equal(null);
    } finally {
      loaded.close();
    }
  });
});
