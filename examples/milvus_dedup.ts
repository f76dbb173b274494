/**
 * From `knowhere-rs signatures` to near-duplicate search in Milvus (2.6 or
 * later, whose MINHASH_LSH index and MHJACCARD metric do the work there):
 * docs/milvus.md explains each parameter. Not run by the tests (Milvus is
 * a server); typechecked with the rest (`npm run typecheck`).
 *
 *   knowhere-rs signatures --jsonl corpus.jsonl -o signatures.json
 *   MILVUS_ADDRESS=localhost:19530 npx tsx examples/milvus_dedup.ts signatures.json
 *
 * It creates the collection, inserts the rows (for large corpora, hand the
 * same files to bulk import instead: see docs/milvus.md), and asks Milvus
 * for the near-duplicates of the first documents. @zilliz/milvus2-sdk-node
 * is a development dependency of knowhere-rs, not a runtime one: a project
 * of yours installs it itself.
 */
import fs from 'node:fs';
import readline from 'node:readline';

import { DataType, IndexType, MetricType, MilvusClient } from '@zilliz/milvus2-sdk-node';

/** As knowhere-rs dedup chooses for K = 128, T = 0.8 (the `signatures`
 * command prints the bands it would use). */
const NUM_HASHES = 128;
const BANDS = 17;
const THRESHOLD = 0.8;
/** Candidates refined with the stored signatures per query. */
const CANDIDATES = 64;
const COLLECTION = 'near_duplicates';

type Row = {
  id: number;
  name: string;
  signature: number[];
};

/** The rows of an export file, one by one: the file is a JSON document
 * with one row per line, so it is read line by line, never whole. */
async function* rowsOf(file: string): AsyncGenerator<Row> {
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const text = line.replace(/,$/, '');
    if (text.startsWith('{"id"')) yield JSON.parse(text) as Row;
  }
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: milvus_dedup.ts SIGNATURES.json');
  const client = new MilvusClient({ address: process.env['MILVUS_ADDRESS'] ?? 'localhost:19530' });

  await client.createCollection({
    collection_name: COLLECTION,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
      { name: 'name', data_type: DataType.VarChar, max_length: 65535 },
      // 128 values of 32 bits: the signature's bytes as knowhere-rs lays them out.
      { name: 'signature', data_type: DataType.BinaryVector, dim: 32 * NUM_HASHES },
    ],
  });
  await client.createIndex({
    collection_name: COLLECTION,
    field_name: 'signature',
    index_type: IndexType.MINHASH_LSH,
    metric_type: MetricType.MHJACCARD,
    params: {
      mh_element_bit_width: 32, // the default, 8, would compare single bytes
      mh_lsh_band: BANDS, // the same bands: the same band keys and candidates
      with_raw_data: true, // keep the signatures, to rank the candidates
    },
  });

  const queries: Row[] = [];
  let batch: Row[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await client.insert({ collection_name: COLLECTION, data: batch });
    batch = [];
  };
  for await (const row of rowsOf(file)) {
    if (queries.length < 10) queries.push(row);
    batch.push(row);
    if (batch.length === 1000) await flush();
  }
  await flush();
  await client.flushSync({ collection_names: [COLLECTION] });
  await client.loadCollectionSync({ collection_name: COLLECTION });

  for (const query of queries) {
    const result = await client.search({
      collection_name: COLLECTION,
      anns_field: 'signature',
      data: [query.signature],
      limit: CANDIDATES,
      // Without mh_search_with_jaccard every hit scores 1.0, unranked.
      params: { mh_search_with_jaccard: true, refine_k: CANDIDATES },
      output_fields: ['name'],
    });
    const near = result.results.filter((hit) => Number(hit.id) !== query.id && hit.score >= THRESHOLD);
    console.log(`${query.name}: ${near.length === 0 ? 'no near-duplicate'
      : near.map((hit) => `${String(hit['name'])} (${hit.score.toFixed(3)})`).join(', ')}`);
  }
  await client.closeConnection();
}

await main();
