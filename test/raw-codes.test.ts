/**
 * Raw data as b-bit codes from TypeScript (build's `rawBits`): the index
 * keeps each value's low b bits, ranks by the corrected fraction of equal
 * codes, refuses getVectorByIds, takes less memory, and round-trips
 * through serialize byte for byte. The C test (test/c/test_raw_codes.c)
 * measures ranking quality; this checks the binding carries the option.
 */
import { expect } from 'chai';

import { MinHashLSHIndex, Status } from '../ts/index.ts';
import { expectKnowhereError, generator, rejection, thrown } from './fixtures/helpers.ts';

const LENGTH = 64;
const N = 400;

/** N random signatures; rows 200.. are near copies of rows 0..199. */
function data(): Uint32Array {
  const next = generator(31);
  const out = new Uint32Array(N * LENGTH);
  for (let i = 0; i < out.length; i++) out[i] = next();
  for (let i = 200; i < N; i++)
    for (let v = 0; v < LENGTH; v++)
      if (next() % 4 === 0) out[i * LENGTH + v] = out[(i - 200) * LENGTH + v]!;
      else out[i * LENGTH + v] = next();
  for (let i = 200; i < N; i++) out.copyWithin(i * LENGTH, (i - 200) * LENGTH, (i - 200) * LENGTH + 16);
  return out;
}

/** The header's similarity of two rows kept as `bits`-bit codes. */
function codeSimilarity(a: Uint32Array, b: Uint32Array, bits: 8 | 16): number {
  const mask = bits === 8 ? 0xff : 0xffff;
  let equal = 0;
  for (let v = 0; v < a.length; v++) if ((a[v]! & mask) === (b[v]! & mask)) equal++;
  if (equal === a.length) return 1;
  const chance = 2 ** -bits;
  return Math.fround(Math.max(0, (equal / a.length - chance) / (1 - chance)));
}

const row = (d: Uint32Array, i: number): Uint32Array => d.subarray(i * LENGTH, (i + 1) * LENGTH);

describe('MinHashLSHIndex: rawBits (b-bit codes)', () => {
  for (const bits of [8, 16] as const) {
    it(`keeps ${bits}-bit codes and ranks by them`, () => {
      const d = data();
      const index = new MinHashLSHIndex();
      index.build(d, { mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true, rawBits: bits });
      expect(index.rawBits).to.equal(bits);
      expect(index.hasRawData).to.equal(false);
      for (const q of [0, 7, 150]) {
        const result = index.search(row(d, q), 2);
        expect(Number(result.ids[0])).to.equal(q);
        expect(result.distances[0]).to.equal(1);
        expect(Number(result.ids[1])).to.equal(q + 200);
        expect(result.distances[1]).to.equal(codeSimilarity(row(d, q), row(d, q + 200), bits));
      }
      expectKnowhereError(thrown(() => index.getVectorByIds([1])), Status.INVALID_ARG,
        new RegExp(`${bits}-bit codes`));
      const full = new MinHashLSHIndex();
      full.build(d, { mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true });
      expect(full.rawBits).to.equal(0);
      expect(full.memoryUsage - index.memoryUsage).to.equal(N * LENGTH * (4 - bits / 8));
      index.close();
      full.close();
    });
  }

  it('round-trips through serialize byte for byte', () => {
    const d = data();
    const index = new MinHashLSHIndex();
    index.build(d, { mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true, rawBits: 8 });
    const bytes = index.serialize();
    expect(bytes[12]).to.equal(0x10); // flag bit 4: 8-bit codes, no full values
    const loaded = MinHashLSHIndex.deserialize(bytes);
    expect(loaded.rawBits).to.equal(8);
    expect(Buffer.from(loaded.serialize()).equals(Buffer.from(bytes))).to.equal(true);
    const a = index.batchSearch(d, N, 3), b = loaded.batchSearch(d, N, 3);
    expect([...b.ids]).to.deep.equal([...a.ids]);
    expect([...b.distances]).to.deep.equal([...a.distances]);
    index.close();
    loaded.close();
  });

  it('checks rawBits, and a build without it keeps full values again', async () => {
    const d = data();
    const index = new MinHashLSHIndex();
    for (const bad of [1, 4, 32, -8, 8.5]) {
      expectKnowhereError(thrown(() => index.build(d, {
        mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true, rawBits: bad as 8,
      })), Status.INVALID_ARG, /rawBits must be 0, 8 or 16/);
    }
    // Codes as wide as the values.
    expectKnowhereError(thrown(() => index.build(new Uint8Array(N * LENGTH), {
      mhVecLength: LENGTH, elementSize: 1, bands: 16, withRawData: true, rawBits: 8,
    })), Status.INVALID_ARG, /mh_vec_element_size is 1/);
    await index.buildAsync(d, { mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true, rawBits: 16 });
    expect(index.rawBits).to.equal(16);
    index.build(d, LENGTH, 4, 16, true);
    expect(index.rawBits).to.equal(0);
    expect(index.hasRawData).to.equal(true);
    await index.buildAsync(d, { mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true, rawBits: 8 });
    expect(index.rawBits).to.equal(8);
    await index.buildAsync(d, LENGTH, 4, 16, true);
    expect(index.rawBits).to.equal(0);
    expectKnowhereError(await rejection(index.buildAsync(d, {
      mhVecLength: LENGTH, elementSize: 4, bands: 16, withRawData: true, rawBits: 12 as 8,
    })), Status.INVALID_ARG, /rawBits/);
    index.close();
  });
});
