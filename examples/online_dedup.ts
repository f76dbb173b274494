/**
 * The online job: stream a JSON Lines file through NearDuplicateIndex.addIfNew
 * and print each document that repeats one seen before.
 *
 *   npx tsx examples/online_dedup.ts docs.jsonl [--field text] [--key id] [--threshold 0.8]
 *
 * Each line is a JSON object; its text is in `--field` (default "text") and
 * its key in `--key` (default: the line number). Without a file, it makes a
 * small demo corpus and runs on that.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { NearDuplicateIndex } from '../ts/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    field: { type: 'string', default: 'text' },
    key: { type: 'string' },
    threshold: { type: 'string', default: '0.8' },
  },
});

/** A few documents, two of them near-copies of others. */
function demoFile(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'online-dedup-'));
  const base = 'the quick brown fox jumps over the lazy dog and then runs far away into the dark green forest';
  const lines = [
    { id: 'a', text: base },
    { id: 'b', text: 'a completely different note about databases, indexes and the search for duplicate records' },
    { id: 'c', text: `${base} again` },
    { id: 'd', text: 'yet another unrelated text, this one about cooking rice and beans for a large family dinner' },
    { id: 'e', text: 'a completely different note about databases, indexes and the search for duplicated records' },
  ];
  const file = path.join(dir, 'demo.jsonl');
  writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n'));
  if (values.key === undefined) values.key = 'id';
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const demo = positionals[0] === undefined ? demoFile() : null;
const file = positionals[0] ?? demo!.file;

using seen = new NearDuplicateIndex({ threshold: Number(values.threshold) });
let lineNumber = 0;
let duplicates = 0;
for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
  lineNumber++;
  if (line.trim() === '') continue;
  const record = JSON.parse(line) as Record<string, unknown>;
  const text = record[values.field];
  if (typeof text !== 'string') continue;
  const keyValue = values.key === undefined ? lineNumber : record[values.key];
  const key = typeof keyValue === 'string' || typeof keyValue === 'number' ? keyValue : lineNumber;
  const result = seen.addIfNew(key, text);
  if (!result.added) {
    duplicates++;
    console.log(`${JSON.stringify(key)} repeats ${JSON.stringify(result.duplicateOf)} ` +
      `(Jaccard ${result.similarity.toFixed(3)})`);
  }
}
console.log(`${lineNumber} lines, ${seen.size} kept, ${duplicates} near-duplicates`);
demo?.cleanup();
