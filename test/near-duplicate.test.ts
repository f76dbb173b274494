/**
 * NearDuplicateIndex: answers agree with the exact brute force on a corpus
 * (exact mode: every reported similarity is the brute-force Jaccard, no
 * pair below the threshold, recall of the true pairs); addIfNew adds one
 * document per near-duplicate family, also when many async calls race;
 * keys and options round-trip through save/load and serialize; bad options
 * and keys are KnowhereError naming what is wrong; the async forms are
 * cancellable and leave the index as it was.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { expect } from 'chai';

import {
  InterruptedError, MinHashLSHIndex, NearDuplicateIndex, Status, shingleSet, shingleSetSimilarity, shingleSimilarity,
  type DocumentKey,
} from '../ts/index.ts';
import { bruteForcePairs, jaccard, pairKey, plantedCorpus, wordShingles } from './fixtures/corpus.ts';
import { expectKnowhereError, rejection, thrown } from './fixtures/helpers.ts';

const corpus = plantedCorpus({ n: 600, originals: 200, rates: [0.02, 0.05, 0.1, 0.3], vocabulary: 3000, seed: 31 });
const sets = corpus.texts.map((text) => wordShingles(text.split(' ')));
const THRESHOLD = 0.7;
const truth = bruteForcePairs(sets, THRESHOLD);
const truthSet = new Set(truth.map((p) => pairKey(p.i, p.j)));

describe('NearDuplicateIndex: answers against the exact brute force', function () {
  this.timeout(120_000);

  it('query (exact): every match is a true pair with its exact similarity; recall >= 0.97', () => {
    using index = new NearDuplicateIndex({ threshold: THRESHOLD });
    index.addMany(corpus.texts.map((text, i) => [`doc-${i}`, text] as const));
    expect(index.size).to.equal(corpus.texts.length);
    let found = 0;
    for (let i = 0; i < corpus.texts.length; i++) {
      const matches = index.query(corpus.texts[i]!);
      for (let m = 0; m < matches.length; m++) {
        const j = Number(String(matches[m]!.key).slice(4));
        const exact = i === j ? 1 : jaccard(sets[i]!, sets[j]!);
        expect(matches[m]!.similarity).to.be.closeTo(exact, 1e-12);
        expect(matches[m]!.similarity).to.be.at.least(THRESHOLD);
        if (m > 0) expect(matches[m]!.similarity).to.be.at.most(matches[m - 1]!.similarity);
        if (i < j) {
          expect(truthSet.has(pairKey(i, j)), `${i} ~ ${j}`).to.equal(true);
          found++;
        }
      }
      // itself, with similarity 1, among the first (an exact copy added earlier comes before it)
      expect(matches[0]?.similarity).to.equal(1);
      expect(matches.filter((m) => m.similarity === 1).map((m) => m.key)).to.include(`doc-${i}`);
    }
    const recall = found / truth.length;
    console.log(`      ${truth.length} true pairs at J >= ${THRESHOLD}, recall ${(100 * recall).toFixed(1)} %`);
    expect(truth.length).to.be.above(150);
    expect(recall).to.be.at.least(0.97);
  });

  it('query (estimate) reports the fraction of equal signature values, at least the threshold', () => {
    using index = new NearDuplicateIndex({ threshold: THRESHOLD, verify: 'estimate' });
    index.addMany(corpus.texts.slice(0, 200).map((text, i) => [i, text] as const));
    for (let i = 0; i < 200; i += 7) {
      const matches = index.query(corpus.texts[i]!, { limit: 3 });
      expect(matches.length).to.be.within(1, 3);
      expect(matches[0]).to.deep.equal({ key: i, similarity: 1 });
      for (const m of matches) {
        expect(m.similarity).to.be.at.least(THRESHOLD);
        // the estimate is within 5 standard errors of the exact value
        const exact = jaccard(sets[i]!, sets[m.key as number]!);
        expect(Math.abs(m.similarity - exact)).to.be.below(5 * Math.sqrt(0.25 / 128) + 1e-9);
      }
    }
  });

  it('query (estimate, rawBits 8): the corrected fraction of equal 8-bit codes, at a quarter of the values\' memory', () => {
    using codes = new NearDuplicateIndex({ threshold: THRESHOLD, verify: 'estimate', rawBits: 8 });
    using values = new NearDuplicateIndex({ threshold: THRESHOLD, verify: 'estimate' });
    const entries = corpus.texts.slice(0, 200).map((text, i) => [i, text] as const);
    codes.addMany(entries);
    values.addMany(entries);
    expect(codes.options.rawBits).to.equal(8);
    // 128 values of 4 bytes against 128 codes of 1 byte, the same band tables.
    expect((values.memoryUsage - codes.memoryUsage) / 200).to.be.within(384 - 8, 384 + 8);
    for (let i = 0; i < 200; i += 7) {
      const matches = codes.query(corpus.texts[i]!, { limit: 3 });
      expect(matches[0]).to.deep.equal({ key: i, similarity: 1 });
      for (const m of matches) {
        expect(m.similarity).to.be.at.least(THRESHOLD);
        // within 5 standard errors of the exact value: codes equal by chance
        // (1 in 256) add (1 - J) / 256 to the variance J (1 - J) of a value
        const exact = jaccard(sets[i]!, sets[m.key as number]!);
        expect(Math.abs(m.similarity - exact)).to.be.below(5 * Math.sqrt((0.25 + 1 / 256) / 128) / (1 - 1 / 256));
      }
    }
  });

  it('addIfNew keeps one document of each family of near-identical ones', () => {
    using index = new NearDuplicateIndex({ threshold: 0.9 });
    const added = new Set<number>();
    for (let i = 0; i < corpus.texts.length; i++) {
      const result = index.addIfNew(i, corpus.texts[i]!);
      if (result.added) {
        added.add(i);
      } else {
        expect(added.has(result.duplicateOf as number)).to.equal(true);
        expect(result.similarity).to.be.closeTo(jaccard(sets[i]!, sets[result.duplicateOf as number]!), 1e-12);
        expect(result.similarity).to.be.at.least(0.9);
      }
    }
    // No two kept documents are near-duplicates of each other...
    const kept = [...added];
    for (let a = 0; a < kept.length; a++) {
      for (let b = a + 1; b < kept.length; b++) {
        const i = kept[a]!;
        const j = kept[b]!;
        if (truthSet.has(pairKey(i, j))) expect(jaccard(sets[i]!, sets[j]!)).to.be.below(0.9);
      }
    }
    // ...and dropped documents are the near-copies (low edit rates).
    expect(index.size).to.equal(added.size);
    expect(index.size).to.be.below(corpus.texts.length);
  });

  it('shingleSet / shingleSetSimilarity equal shingleSimilarity of the texts', () => {
    for (let i = 0; i < 40; i++) {
      const a = corpus.texts[i]!;
      const b = corpus.texts[i + 1]!;
      expect(shingleSetSimilarity(shingleSet(a), shingleSet(b))).to.equal(shingleSimilarity(a, b));
    }
    expect(shingleSet('').length).to.equal(0);
    expect(shingleSet('one two three four').length).to.equal(2);
  });
});

describe('NearDuplicateIndex: keys, options and errors', () => {
  it('add / has / delete / size, and a deleted document leaves every answer', () => {
    using index = new NearDuplicateIndex();
    index.add('a', corpus.texts[0]!);
    index.add(7, corpus.texts[1]!);
    expect(index.has('a') && index.has(7)).to.equal(true);
    expect(index.has('7')).to.equal(false); // 7 and '7' are different keys
    expect(index.query(corpus.texts[0]!)[0]?.key).to.equal('a');
    expect(index.delete('a')).to.equal(true);
    expect(index.delete('a')).to.equal(false);
    expect(index.has('a')).to.equal(false);
    expect(index.size).to.equal(1);
    expect(index.query(corpus.texts[0]!).map((m) => m.key)).to.not.include('a');
    index.add('a', corpus.texts[0]!); // a deleted key may be used again
    expect(index.query(corpus.texts[0]!)[0]?.key).to.equal('a');
  });

  it('bad keys and a key already in the index are KnowhereError INVALID_ARG', () => {
    using index = new NearDuplicateIndex();
    index.add('x', 'some text here to index');
    expectKnowhereError(thrown(() => index.add('x', 'other')), Status.INVALID_ARG, /key "x" is already in the index/);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, null, undefined, {}, 1n]) {
      expectKnowhereError(thrown(() => index.add(bad as unknown as DocumentKey, 't')), Status.INVALID_ARG, /a key must be/);
    }
    expectKnowhereError(thrown(() => index.addMany([['p', 'a'], ['p', 'b']])), Status.INVALID_ARG, /appears twice/);
    expectKnowhereError(thrown(() => index.addMany([['q', 5 as unknown as string]])), Status.INVALID_ARG, /text must be/);
    expect(index.size).to.equal(1); // nothing of a refused batch was added
  });

  it('bad options are KnowhereError INVALID_ARG naming the option', () => {
    const cases: [unknown, RegExp][] = [
      [{ threshold: 0 }, /option threshold/], [{ threshold: 1.5 }, /option threshold/],
      [{ numHashes: 0 }, /option numHashes/], [{ numHashes: 2.5 }, /option numHashes/],
      [{ verify: 'approx' }, /option verify/], [{ shingle: { kind: 'line' } }, /option shingle.kind/],
      [{ shingle: { size: 0 } }, /option shingle.size/], [{ shingle: 3 }, /option shingle/],
      [{ bands: 129 }, /option bands/], [{ keepCase: 'yes' }, /option keepCase/], [{ seed: -1 }, /option seed/],
      [{ tresholds: 0.8 }, /option tresholds: unknown option/], ['fast', /options must be an object/],
      [{ verify: 'estimate', rawBits: 4 }, /option rawBits: must be 0, 8 or 16, got 4/],
      [{ rawBits: 8 }, /option rawBits: .*needs verify 'estimate' \(verify is 'exact'\)/],
    ];
    for (const [options, message] of cases) {
      expectKnowhereError(thrown(() => new NearDuplicateIndex(options as never)), Status.INVALID_ARG, message);
    }
    const defaults = new NearDuplicateIndex().options;
    expect(defaults).to.deep.equal({
      threshold: 0.8, shingle: { kind: 'word', size: 3 }, numHashes: 128, verify: 'exact', rawBits: 0, bands: 17,
      keepCase: false, seed: 0n,
    });
  });

  it('query options: threshold and limit', () => {
    using index = new NearDuplicateIndex({ threshold: 0.5 });
    index.addMany(corpus.texts.map((text, i) => [i, text] as const));
    const all = index.query(corpus.texts[3]!, { threshold: 0.3 });
    const top = index.query(corpus.texts[3]!, { threshold: 0.3, limit: 2 });
    expect(top).to.deep.equal(all.slice(0, 2));
    expect(all.every((m) => m.similarity >= 0.3)).to.equal(true);
    expectKnowhereError(thrown(() => index.query('x', { threshold: 2 })), Status.INVALID_ARG, /threshold/);
  });
});

describe('NearDuplicateIndex: persistence', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'knowhere-ndi-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  for (const [verify, rawBits] of [['exact', 0], ['estimate', 0], ['estimate', 8]] as const) {
    it(`keys, deletions and options round-trip through save/load and serialize (${verify}, rawBits ${rawBits})`, async () => {
      using index = new NearDuplicateIndex({
        threshold: 0.6, verify, rawBits, shingle: { kind: 'word', size: 2 }, seed: 9n,
      });
      index.addMany(corpus.texts.slice(0, 100).map((text, i) => [i % 2 ? `k${i}` : i, text] as const));
      index.delete(4);
      index.delete('k5');
      const file = path.join(dir, `ndi-${verify}-${rawBits}.khlsh`);
      index.save(file);
      const copies = [NearDuplicateIndex.load(file), await NearDuplicateIndex.loadAsync(file),
        NearDuplicateIndex.deserialize(index.serialize())];
      for (const copy of copies) {
        expect(copy.options).to.deep.equal(index.options);
        expect(copy.size).to.equal(98);
        expect(copy.has(4) || copy.has('k5')).to.equal(false);
        for (let i = 0; i < 100; i += 3) {
          expect(copy.query(corpus.texts[i]!)).to.deep.equal(index.query(corpus.texts[i]!));
        }
        copy.add(4, corpus.texts[4]!); // the deleted key is free again
        expect(copy.query(corpus.texts[4]!)[0]?.key).to.equal(4);
        copy.close();
      }
    });
  }

  it('a plain MinHashLSHIndex file is refused as CORRUPT with a message saying so; an empty index is not saved', () => {
    const plain = new MinHashLSHIndex();
    plain.build(new Uint32Array(128 * 4).map((_, i) => i), 128, 4, 16, true);
    const file = path.join(dir, 'plain.khlsh');
    plain.save(file);
    plain.close();
    expectKnowhereError(thrown(() => NearDuplicateIndex.load(file)), Status.CORRUPT, /no key table/);
    using empty = new NearDuplicateIndex();
    expectKnowhereError(thrown(() => empty.serialize()), Status.EMPTY_INDEX, /add a document/);
  });
});

describe('NearDuplicateIndex: async forms', function () {
  this.timeout(120_000);

  it('addIfNewAsync: racing calls add no two near-duplicates, and answer as the same calls one by one', async () => {
    // 30 families of 8 near-identical texts (about 1 % edits), all raced at once.
    const family = plantedCorpus({ n: 240, originals: 30, rates: [0.002], vocabulary: 5000, seed: 77 });
    const familySets = family.texts.map((text) => wordShingles(text.split(' ')));
    using raced = new NearDuplicateIndex({ threshold: 0.8 });
    const results = await Promise.all(family.texts.map((text, i) => raced.addIfNewAsync(i, text)));
    const added = results.flatMap((r, i) => (r.added ? [i] : []));
    for (let a = 0; a < added.length; a++) {
      for (let b = a + 1; b < added.length; b++) {
        expect(jaccard(familySets[added[a]!]!, familySets[added[b]!]!)).to.be.below(0.8);
      }
    }
    for (const r of results) {
      if (!r.added) expect(added).to.include(r.duplicateOf);
    }
    // One per family here (the copies are near-identical), as one by one.
    expect(new Set(added.map((i) => family.family[i])).size).to.equal(30);
    expect(added.length).to.equal(30);
    using sequential = new NearDuplicateIndex({ threshold: 0.8 });
    expect(family.texts.map((text, i) => sequential.addIfNew(i, text))).to.deep.equal(results);
  });

  it('addManyAsync and queryManyAsync equal their sync forms; a sync call meanwhile is BUSY', async () => {
    using a = new NearDuplicateIndex({ threshold: THRESHOLD });
    using b = new NearDuplicateIndex({ threshold: THRESHOLD });
    const entries = corpus.texts.map((text, i) => [i, text] as const);
    a.addMany(entries);
    const adding = b.addManyAsync(entries);
    expectKnowhereError(thrown(() => b.query('x')), Status.BUSY, /async operation/);
    await adding;
    const queries = corpus.texts.slice(0, 50);
    const answers = await b.queryManyAsync(queries);
    expect(answers).to.deep.equal(queries.map((q) => a.query(q)));
  });

  it('an aborted addManyAsync rejects with InterruptedError and adds nothing', async () => {
    using index = new NearDuplicateIndex();
    index.add('first', corpus.texts[0]!);
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(index.addManyAsync([['x', corpus.texts[1]!]], { signal: controller.signal }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect(index.size).to.equal(1);
    expect(index.has('x')).to.equal(false);
  });
});

describe('NearDuplicateIndex: the online example', function () {
  this.timeout(60_000);

  it('examples/online_dedup.ts streams its demo file through addIfNew and names the repeat', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawnSync(process.execPath, ['--import', tsx, path.join(root, 'examples', 'online_dedup.ts')],
      { cwd: root, encoding: 'utf8' });
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.match(/^"c" repeats "a" \(Jaccard 0\.9\d\d\)$/m);
    expect(child.stdout).to.contain('5 lines, 4 kept, 1 near-duplicates');
  });
});
