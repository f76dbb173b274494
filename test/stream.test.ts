/**
 * The streaming reader (ts/cli/stream.ts) and reading documents again by
 * their place (ts/cli/reread.ts): batches bounded by --batch-bytes whatever
 * the file's size, places that point at each document's bytes (decompressed
 * for a .gz), a document larger than a batch hashed as a batch of its own,
 * standard input spooled for the second pass, and a file that changed
 * between the passes reported by name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

import { expect } from 'chai';

import { CommandError } from '../ts/cli/exit-codes.ts';
import type { ListedFile } from '../ts/cli/files.ts';
import type { BadInput } from '../ts/cli/input.ts';
import { rereadTexts } from '../ts/cli/reread.ts';
import { DocumentStream, DocumentTable, readAhead, type DocumentBatch } from '../ts/cli/stream.ts';
import { randomWords, temporaryDirectory } from './fixtures/cli.ts';
import { generator } from './fixtures/helpers.ts';

function listed(file: string | null): ListedFile {
  if (file === null) return { path: null, display: '-', named: true, link: false, identity: null, size: null };
  return { path: Buffer.from(file), display: file, named: true, link: false, identity: null,
    size: fs.statSync(file).size };
}

interface Read {
  batches: DocumentBatch[];
  table: DocumentTable;
  bad: BadInput[];
  stream: DocumentStream;
}

async function readAll(files: ListedFile[], options: { jsonl: boolean; batchBytes: number; maxDocumentBytes?: number;
  stdin?: NodeJS.ReadableStream; spool?: boolean }): Promise<Read> {
  const bad: BadInput[] = [];
  const stream = new DocumentStream({
    files, jsonl: options.jsonl, textField: 'text', idField: null, maxDocumentBytes: options.maxDocumentBytes ?? 1 << 30,
    batchBytes: options.batchBytes, signal: new AbortController().signal, stdin: options.stdin ?? Readable.from([]),
    onBadInput: (b) => { bad.push(b); }, onProgress: () => { /* not looked at */ }, spool: options.spool,
  });
  const table = new DocumentTable(false);
  const batches: DocumentBatch[] = [];
  await readAhead(stream.batches(), async (batch) => {
    batches.push(batch);
    table.append(batch);
  });
  return { batches, table, bad, stream };
}

function textsOf(batches: readonly DocumentBatch[]): string[] {
  const texts: string[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) texts.push(b.texts.subarray(Number(b.offsets[i]), Number(b.offsets[i + 1])).toString());
  }
  return texts;
}

describe('streaming input: batches, places and a second pass', function () {
  this.timeout(60_000);
  let dir: string;
  let texts: string[];
  let jsonl: string;
  before(() => {
    dir = temporaryDirectory();
    const next = generator(9);
    texts = Array.from({ length: 300 }, (_, i) => (i === 7 ? 'naïve café — ünïcode' : randomWords(next, 20 + (next() % 60)).join(' ')));
    jsonl = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(jsonl, `${texts.map((text) => JSON.stringify({ text })).join('\n')}\n\n`);
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('reads a JSON Lines file many times the batch size in batches of at most --batch-bytes', async () => {
    const { batches, table, bad } = await readAll([listed(jsonl)], { jsonl: true, batchBytes: 2048 });
    expect(bad).to.deep.equal([]);
    expect(batches.length).to.be.greaterThan(20);
    for (const b of batches) expect(b.texts.byteLength).to.be.at.most(2048);
    expect(textsOf(batches)).to.deep.equal(texts);
    // Each place is the document's line, byte for byte.
    const bytes = fs.readFileSync(jsonl);
    for (let i = 0; i < table.count; i++) {
      const line = bytes.subarray(table.start(i), table.start(i) + table.length(i)).toString();
      expect(JSON.parse(line)).to.deep.equal({ text: texts[i] });
      expect(table.line(i)).to.equal(i + 1);
    }
  });

  it('reads a .jsonl.gz as the same documents, at the same (decompressed) places', async () => {
    const gz = path.join(dir, 'docs.jsonl.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(jsonl)));
    const plain = await readAll([listed(jsonl)], { jsonl: true, batchBytes: 4096 });
    const zipped = await readAll([listed(gz)], { jsonl: true, batchBytes: 4096 });
    expect(textsOf(zipped.batches)).to.deep.equal(textsOf(plain.batches));
    for (let i = 0; i < plain.table.count; i++) {
      expect([zipped.table.start(i), zipped.table.length(i)]).to.deep.equal([plain.table.start(i), plain.table.length(i)]);
    }
  });

  it('a document larger than a batch is a batch of its own, its buffer the document itself', async () => {
    const files = path.join(dir, 'files');
    fs.mkdirSync(files);
    const big = 'many words here '.repeat(1000);
    fs.writeFileSync(path.join(files, 'a.txt'), texts[0]!);
    fs.writeFileSync(path.join(files, 'b.txt'), big);
    fs.writeFileSync(path.join(files, 'c.txt'), texts[1]!);
    const { batches } = await readAll(['a.txt', 'b.txt', 'c.txt'].map((f) => listed(path.join(files, f))),
      { jsonl: false, batchBytes: 4096 });
    expect(batches.map((b) => b.count)).to.deep.equal([1, 1, 1]);
    expect(batches[1]!.texts.byteLength).to.equal(big.length);
    expect(batches[1]!.texts.buffer.byteLength).to.equal(big.length);
    expect(textsOf(batches)).to.deep.equal([texts[0], big, texts[1]]);
  });

  it('refuses a document over --max-document-bytes without holding it, and reads on', async () => {
    const file = path.join(dir, 'huge-line.jsonl');
    fs.writeFileSync(file, [texts[0], 'x '.repeat(300_000), texts[1]].map((text) => JSON.stringify({ text })).join('\n'));
    const { batches, bad } = await readAll([listed(file)], { jsonl: true, batchBytes: 4096, maxDocumentBytes: 100_000 });
    expect(bad).to.deep.equal([{ file, line: 2, reason: '585.9 KiB, larger than --max-document-bytes (97.7 KiB)' }]);
    expect(textsOf(batches)).to.deep.equal([texts[0], texts[1]]);
  });

  it('reads documents again by their places: plain, .gz and spooled standard input', async () => {
    const gz = path.join(dir, 'again.jsonl.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(jsonl)));
    const stdin = Readable.from([Buffer.from(fs.readFileSync(jsonl).subarray(0, 3000)),
      Buffer.from(fs.readFileSync(jsonl).subarray(3000))]);
    const files = [listed(jsonl), listed(gz), listed(null)];
    const first = await readAll(files, { jsonl: true, batchBytes: 8192, stdin, spool: true });
    expect(first.table.count).to.equal(3 * texts.length);
    expect(first.stream.spooled.size).to.equal(1);
    const wanted = [5, 7, 299, 300, 307, 450, 599, 600, 607, 899, 7];
    const again = await rereadTexts(wanted, {
      files, states: first.stream.fileStates, spooled: first.stream.spooled, table: first.table, jsonl: true,
      textField: 'text', idField: null, signal: new AbortController().signal, onProgress: () => { /* not looked at */ },
    });
    const ids = [...new Set(wanted)].sort((a, b) => a - b);
    expect([...again.ids]).to.deep.equal(ids);
    ids.forEach((id, k) => {
      const text = again.texts.subarray(Number(again.offsets[k]), Number(again.offsets[k + 1])).toString();
      expect(text).to.equal(texts[id % texts.length], `document ${id}`);
    });
    for (const spool of first.stream.spooled.values()) fs.rmSync(spool, { force: true });
  });

  it('the table of places keeps every place across its chunks (65 536 documents each)', () => {
    const table = new DocumentTable(true);
    const n = 150_000;
    for (let first = 0; first < n; first += 7_001) {
      const count = Math.min(7_001, n - first);
      const ids = Array.from({ length: count }, (_, k) => `id${first + k}`);
      table.append({
        count, texts: Buffer.alloc(0), offsets: new BigUint64Array(count + 1),
        file: Uint32Array.from(ids, (_, k) => (first + k) % 13), start: Float64Array.from(ids, (_, k) => (first + k) * 1e6),
        length: Float64Array.from(ids, (_, k) => first + k + 0.5), line: Uint32Array.from(ids, (_, k) => first + k + 1),
        ids,
      });
    }
    expect(table.count).to.equal(n);
    for (const i of [0, 1, 65_535, 65_536, 65_537, 131_071, 131_072, n - 1]) {
      expect([table.file(i), table.start(i), table.length(i), table.line(i), table.id(i)])
        .to.deep.equal([i % 13, i * 1e6, i + 0.5, i + 1, `id${i}`]);
    }
  });

  it('a file that changed between the passes is reported by name, not read', async () => {
    const file = path.join(dir, 'changing.jsonl');
    fs.copyFileSync(jsonl, file);
    const files = [listed(file)];
    const first = await readAll(files, { jsonl: true, batchBytes: 8192 });
    fs.appendFileSync(file, `${JSON.stringify({ text: 'one more' })}\n`);
    const options = {
      files, states: first.stream.fileStates, spooled: first.stream.spooled, table: first.table, jsonl: true,
      textField: 'text', idField: null, signal: new AbortController().signal, onProgress: () => { /* not looked at */ },
    };
    let error: unknown = null;
    try {
      await rereadTexts([3, 4], options);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(CommandError);
    expect((error as Error).message).to.match(new RegExp(`^${file} changed between the passes \\(its size went from ` +
      `\\d+ to \\d+ bytes\\)`));
    // The same size, a later time: changed too.
    fs.copyFileSync(jsonl, file);
    const second = await readAll(files, { jsonl: true, batchBytes: 8192 });
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    error = null;
    try {
      await rereadTexts([3], { ...options, states: second.stream.fileStates, table: second.table });
    } catch (e) {
      error = e;
    }
    expect((error as Error | null)?.message).to.match(/changed between the passes \(it was modified at /);
  });
});
