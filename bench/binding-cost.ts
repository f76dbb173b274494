/**
 * The binding's per-call cost, piece by piece (part of `npm run bench`,
 * step 2): what one sync call from TypeScript costs on top of the C
 * function, measured by taking the pieces away one at a time. Declares its
 * own koffi prototypes for the variants (the binding's are in
 * ts/native.ts); CPU time of this process, medians of interleaved rounds.
 */
import koffi from 'koffi';

import { native, syncErrorOut } from '../ts/native.ts';

type Binding = typeof import('../ts/index.ts');

/** CPU ns per call of `f`, median of `rounds` rounds run interleaved with
 * the other variants (so that the machine's load hits them alike). */
function measureAll(variants: readonly (readonly [string, () => void])[], calls: number, rounds = 7):
  { name: string; ns: number }[] {
  const times = variants.map(() => [] as number[]);
  for (const [, f] of variants) for (let i = 0; i < calls / 10; i++) f(); // warm-up
  for (let r = 0; r < rounds; r++) {
    variants.forEach(([, f], v) => {
      const start = process.cpuUsage();
      for (let i = 0; i < calls; i++) f();
      const used = process.cpuUsage(start);
      times[v]?.push(((used.user + used.system) * 1000) / calls);
    });
  }
  return variants.map(([name], v) => {
    const sorted = [...(times[v] ?? [])].sort((a, b) => a - b);
    return { name, ns: sorted[Math.floor(sorted.length / 2)] ?? NaN };
  });
}

export interface BindingCost {
  search: { name: string; ns: number }[];
  signature: { name: string; ns: number }[];
}

/**
 * `data`: n signatures of 128 4-byte values (an index is built from them);
 * `queries`: signatures to search for; `texts`: documents to sign.
 */
export function measureBindingCost(binding: Binding, data: Uint32Array, queries: readonly Uint32Array[],
                                   texts: readonly string[]): BindingCost {
  const lib = koffi.load(native.path);
  const abiVersion = lib.func('uint32_t knowhere_abi_version(void)');
  const count = lib.func('size_t knowhere_minhash_lsh_count(const void *index)');
  const search = lib.func('int knowhere_minhash_lsh_search_with_interrupt(const void *index, const void *query, ' +
    'size_t query_len, size_t k, const void *bitset, size_t bitset_bits, void *ids, void *distances, ' +
    'void *interrupt, void *err)');
  const fromTextStruct = lib.func('int knowhere_signature_from_text(const knowhere_signature_options *options, ' +
    'const void *text, size_t text_len, void *out, size_t out_len, void *shingles, void *err)');
  const fromText = lib.func('int knowhere_signature_from_text(const void *options, const void *text, ' +
    'size_t text_len, void *out, size_t out_len, void *shingles, void *err)');

  const index = new binding.MinHashLSHIndex();
  index.build(data, 128, 4, 16, true);
  const handle = native.minhashLshCreate();
  if (handle === null) throw new Error('out of memory');
  native.minhashLshBuildWithInterrupt(handle, new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    data.byteLength, 128, 4, 16, true, null, syncErrorOut);
  const ids = new BigInt64Array(10);
  const distances = new Float32Array(10);
  const err = syncErrorOut;
  let q = 0;
  const query = (): Uint32Array => queries[q++ % queries.length] as Uint32Array;
  let pool = new ArrayBuffer(8192);
  let used = 0;
  const pooled = (bytes: number): number => {
    if (used + bytes > pool.byteLength) {
      pool = new ArrayBuffer(8192);
      used = 0;
    }
    const at = used;
    used += bytes;
    return at;
  };
  let sink: unknown = null;
  const searchCost = measureAll([
    ['koffi call, no argument (knowhere_abi_version)', () => { sink = abiVersion(); }],
    ['koffi call, one pointer (knowhere_minhash_lsh_count)', () => { sink = count(handle); }],
    ['search k = 10, koffi alone: outputs and error buffer reused', () => {
      const v = query();
      search(handle, v, v.byteLength, 10, null, 0, ids, distances, null, err);
    }],
    ['  + a new 8-byte error buffer per call (before)', () => {
      const v = query();
      search(handle, v, v.byteLength, 10, null, 0, ids, distances, null, new BigUint64Array(1));
    }],
    ['  + new BigInt64Array(10) and Float32Array(10) outputs (before)', () => {
      const v = query();
      const out = { ids: new BigInt64Array(10), distances: new Float32Array(10) };
      search(handle, v, v.byteLength, 10, null, 0, out.ids, out.distances, null, err);
      sink = out;
    }],
    ['  + outputs: views of one pooled ArrayBuffer (now)', () => {
      const v = query();
      const at = pooled(120);
      const out = { ids: new BigInt64Array(pool, at, 10), distances: new Float32Array(pool, at + 80, 10) };
      search(handle, v, v.byteLength, 10, null, 0, out.ids, out.distances, null, err);
      sink = out;
    }],
    ['MinHashLSHIndex.search(query, 10), everything', () => { sink = index.search(query(), 10); }],
  ], 20_000);

  const options = native.signatureOptionsInit();
  const packed = new Uint8Array(koffi.sizeof('knowhere_signature_options'));
  const view = new DataView(packed.buffer);
  const type = 'knowhere_signature_options';
  for (const field of ['size', 'num_hashes', 'shingle_kind', 'shingle_size', 'value_bytes', 'flags'] as const) {
    view.setUint32(koffi.offsetof(type, field), options[field], true);
  }
  view.setBigUint64(koffi.offsetof(type, 'seed'), options.seed, true);
  const bytes = texts.map((text) => Buffer.from(text, 'utf8'));
  const scratch = new Uint8Array(1 << 16);
  const encoder = new TextEncoder();
  const out = new Uint32Array(128);
  let d = 0;
  const signatureCost = measureAll([
    ['signature, koffi alone: options packed, UTF-8 bytes in, output reused', () => {
      const b = bytes[d++ % bytes.length] as Uint8Array;
      fromText(packed, b, b.byteLength, out, 512, null, err);
    }],
    ['  options as a JS object koffi converts to the struct (before)', () => {
      const b = bytes[d++ % bytes.length] as Uint8Array;
      fromTextStruct(options, b, b.byteLength, out, 512, null, err);
    }],
    ['  + the string encoded by Buffer.from (before)', () => {
      const b = Buffer.from(texts[d++ % texts.length] as string, 'utf8');
      fromText(packed, b, b.byteLength, out, 512, null, err);
    }],
    ['  + the string encoded into a reused buffer (now)', () => {
      const n = encoder.encodeInto(texts[d++ % texts.length] as string, scratch).written;
      fromText(packed, scratch, n, out, 512, null, err);
    }],
    ['  + a new Uint32Array(128) output (before)', () => {
      const b = bytes[d++ % bytes.length] as Uint8Array;
      const values = new Uint32Array(128);
      fromText(packed, b, b.byteLength, values, 512, null, err);
      sink = values;
    }],
    ['  + a pooled Uint32Array(128) output (now)', () => {
      const b = bytes[d++ % bytes.length] as Uint8Array;
      const values = new Uint32Array(pool, pooled(512), 128);
      fromText(packed, b, b.byteLength, values, 512, null, err);
      sink = values;
    }],
    ['signatureFromText(string), everything', () => { sink = binding.signatureFromText(texts[d++ % texts.length] as string); }],
  ], 10_000);
  if (sink === undefined) console.log(''); // keeps the results alive
  index.close();
  native.minhashLshFree(handle);
  return { search: searchCost, signature: signatureCost };
}
