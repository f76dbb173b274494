/**
 * One source of defaults: every options struct of knowhere_rs.h is filled
 * by the library's own `_init` function, and the binding uses exactly those
 * values for every option the caller leaves out, so the same options give
 * the same result from C and from TypeScript.
 *
 * The list of structs is read from the header: a new options struct
 * without a case here fails the first test.
 */
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import {
  shingleSimilarity, signatureFromText, signaturesFromTexts, type SignatureOptions,
} from '../ts/index.ts';
import { Shingle, SignatureFlag, native, newErrorOut, type NativeSignatureOptions } from '../ts/native.ts';
import { nativeOptionsOf } from '../ts/signature.ts';

const header = readFileSync(new URL('../knowhere_rs.h', import.meta.url), 'utf8');

/** `typedef struct knowhere_X_options { ... } knowhere_X_options;` of the
 * header, with the names of their fields. */
function optionsStructs(): Map<string, string[]> {
  const structs = new Map<string, string[]>();
  for (const match of header.matchAll(/typedef struct (knowhere_\w+_options)\s*\{([^}]*)\}/g)) {
    const fields = [...match[2]!.matchAll(/^\s*\w+[\s*]+(\w+)\s*;/gm)].map((field) => field[1]!);
    structs.set(match[1]!, fields);
  }
  return structs;
}

interface OptionsCase {
  /** Each C field (but `size`) and the TS option that sets it. */
  readonly fields: Record<string, string>;
  readonly check: () => void;
}

// ---------------------------------------------------------------------------
// knowhere_signature_options
// ---------------------------------------------------------------------------

/** What C computes for one document under `options` (the reference). */
function cSignature(options: NativeSignatureOptions, text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  const out = new Uint8Array(options.num_hashes * options.value_bytes);
  const err = newErrorOut();
  expect(native.signatureFromText(options, bytes, bytes.byteLength, out, out.byteLength, null, err)).to.equal(0);
  return out;
}

const asBytes = (values: Uint32Array | BigUint64Array): Uint8Array =>
  new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

function checkSignatureOptions(): void {
  const c = native.signatureOptionsInit();
  // What the binding uses when nothing is given is the library's init.
  expect(nativeOptionsOf(undefined)).to.deep.equal(c);
  expect(nativeOptionsOf({})).to.deep.equal(c);

  // Each option left out keeps C's default even when every other option is
  // set: e.g. choosing character shingles must not change the shingle size.
  const other: Required<SignatureOptions> = {
    numHashes: c.num_hashes === 64 ? 32 : 64,
    shingle: c.shingle_kind === Shingle.WORDS ? 'chars' : 'words',
    shingleSize: c.shingle_size === 7 ? 4 : 7,
    valueBytes: c.value_bytes === 8 ? 4 : 8,
    keepCase: (c.flags & SignatureFlag.KEEP_CASE) === 0,
    seed: c.seed + 1n,
  };
  const fieldOf: Record<keyof SignatureOptions, (o: NativeSignatureOptions) => unknown> = {
    numHashes: (o) => o.num_hashes,
    shingle: (o) => o.shingle_kind,
    shingleSize: (o) => o.shingle_size,
    valueBytes: (o) => o.value_bytes,
    keepCase: (o) => o.flags & SignatureFlag.KEEP_CASE,
    seed: (o) => o.seed,
  };
  for (const left of Object.keys(other) as (keyof SignatureOptions)[]) {
    const given: Record<string, unknown> = { ...other };
    delete given[left];
    const resolved = nativeOptionsOf(given);
    expect(fieldOf[left](resolved), `${left} left out (every other option set)`).to.equal(fieldOf[left](c));
    for (const set of Object.keys(other) as (keyof SignatureOptions)[]) {
      if (set !== left) expect(fieldOf[set](resolved), `${set} as given`).to.not.equal(fieldOf[set](c));
    }
  }

  // The signatures agree with C's for the same options (defaults included).
  const text = 'The quick brown fox jumps over the lazy dog, twice: the quick brown fox!';
  const chars: NativeSignatureOptions = { ...c, shingle_kind: Shingle.CHARS };
  expect(asBytes(signatureFromText(text))).to.deep.equal(cSignature(c, text));
  expect(asBytes(signatureFromText(text, { shingle: 'chars' }))).to.deep.equal(cSignature(chars, text));
  expect(asBytes(signaturesFromTexts([text], { shingle: 'chars' }).values)).to.deep.equal(cSignature(chars, text));
  const similarity: [number] = [0];
  const other2 = 'the quick brown fox jumps over a lazy dog';
  const a = Buffer.from(text);
  const b = Buffer.from(other2);
  expect(native.shingleJaccard(chars, a, a.byteLength, b, b.byteLength, similarity, newErrorOut())).to.equal(0);
  expect(shingleSimilarity(text, other2, { shingle: 'chars' })).to.equal(similarity[0]);
}

// ---------------------------------------------------------------------------
// knowhere_search_options
// ---------------------------------------------------------------------------

/** The binding searches with the plain C functions: they must be the
 * options' defaults, so the same search gives the same rows either way. */
function checkSearchOptions(): void {
  const c = native.searchOptionsInit();
  expect(c).to.deep.include({ mode: 0, refine_k: 0n, bitset_id_offset: 0n, threads: 0n, filter: null, filter_user: null });
  const length = 16;
  const rows = 200;
  const data = new Uint32Array(rows * length);
  for (let i = 0; i < data.length; ++i) data[i] = (i % 7 === 0 ? i : Math.floor(i / length / 4)) >>> 0;
  const bytes = new Uint8Array(data.buffer);
  const index = native.minhashLshCreate()!;
  try {
    expect(native.minhashLshBuildWithInterrupt(index, bytes, bytes.byteLength, length, 4, 4, true, null, newErrorOut()))
      .to.equal(0);
    const k = 5;
    const nq = 20;
    const plain = { ids: new BigInt64Array(nq * k), distances: new Float32Array(nq * k) };
    const withOptions = { ids: new BigInt64Array(nq * k), distances: new Float32Array(nq * k) };
    const queries = bytes.subarray(0, nq * length * 4);
    expect(native.minhashLshBatchSearchWithInterrupt(index, queries, queries.byteLength, nq, k, null, 0, plain.ids,
      plain.distances, null, newErrorOut())).to.equal(0);
    expect(native.minhashLshBatchSearchWithOptions(index, queries, queries.byteLength, nq, k, null, 0, c,
      withOptions.ids, withOptions.distances, null, newErrorOut())).to.equal(0);
    expect(withOptions).to.deep.equal(plain);
    expect(plain.ids.some((id) => id > 0n)).to.equal(true);
  } finally {
    native.minhashLshFree(index);
  }
}

const cases: Record<string, OptionsCase> = {
  knowhere_signature_options: {
    fields: {
      num_hashes: 'numHashes', shingle_kind: 'shingle', shingle_size: 'shingleSize', value_bytes: 'valueBytes',
      flags: 'keepCase', seed: 'seed',
    },
    check: checkSignatureOptions,
  },
  // Not TypeScript options: the binding's searches rank every candidate
  // with the index's threads and a bitset; hits mode, refine_k, the id
  // offset and a C row predicate serve C callers (the knowhere node).
  knowhere_search_options: {
    fields: {
      mode: '(C only)', refine_k: '(C only)', bitset_id_offset: '(C only)', threads: '(C only)',
      filter: '(C only)', filter_user: '(C only)',
    },
    check: checkSearchOptions,
  },
};

describe('options defaults: C and TypeScript agree (one source: the library\'s _init)', () => {
  const structs = optionsStructs();

  it('every options struct of knowhere_rs.h has an _init and a case here, and each field an option', () => {
    expect(structs.size, 'the header parses').to.be.above(0);
    for (const [name, fields] of structs) {
      expect(header, `${name}_init is declared`).to.match(new RegExp(`KNOWHERE_API void ${name}_init\\(`));
      expect(cases, `a case for ${name}`).to.have.property(name);
      expect(fields.filter((field) => field !== 'size').sort(), `the fields of ${name}`)
        .to.deep.equal(Object.keys(cases[name]!.fields).sort());
    }
  });

  for (const [name, options] of Object.entries(cases)) {
    it(`${name}: what TypeScript leaves out is the library's default, and results equal C's`, () => {
      expect(structs.has(name), `${name} is still in the header`).to.equal(true);
      options.check();
    });
  }
});
