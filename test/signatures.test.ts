/**
 * `knowhere-rs signatures`: the export for Milvus's bulk import
 * (docs/milvus.md). Its rows give back the library's signatures bit for
 * bit (and an index built from them joins as one built from the library's
 * own), whatever the batch size, from .jsonl.gz as from .jsonl, in parts
 * with --rows-per-file; a document over --max-document-bytes is refused by
 * name; an interrupted run leaves no file.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { expect } from 'chai';

import { MinHashLSHIndex } from '../ts/minhash-lsh.ts';
import { signaturesFromTexts } from '../ts/signature.ts';
import { partPath, rowBound, writeRow } from '../ts/cli/signatures.ts';
import { listing, randomWords, run, temporaryDirectory, withChanges } from './fixtures/cli.ts';
import { generator } from './fixtures/helpers.ts';

interface Row {
  id: number;
  name: string;
  signature: number[];
}

/** The rows of an export file (it must be one JSON document). */
function rowsOf(file: string): Row[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { rows: Row[] }).rows;
}

function bytesOfRow(row: Row): Uint8Array {
  return Uint8Array.from(row.signature);
}

/** Texts with near-duplicates among them: every fifth a copy of the one before with two words changed. */
function corpus(count: number, seed: number): string[] {
  const next = generator(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    texts.push(i % 5 === 4 ? withChanges(texts[i - 1]!.split(' '), 2).join(' ') : randomWords(next, 60 + (next() % 80)).join(' '));
  }
  return texts;
}

const jsonLines = (texts: readonly string[]): string => texts.map((text, i) => JSON.stringify({ id: `doc-${i}`, text })).join('\n');

describe('knowhere-rs signatures: the export for Milvus', function () {
  this.timeout(120_000);
  let dir: string;
  let texts: string[];
  let jsonl: string;
  before(() => {
    dir = temporaryDirectory();
    texts = corpus(400, 77);
    jsonl = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(jsonl, `${jsonLines(texts)}\n`);
  });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('gives back the library\'s signatures bit for bit, one row per document in input order', () => {
    const out = path.join(dir, 'sigs.json');
    const child = run(['signatures', '--jsonl', '--id-field', 'id', jsonl, '-o', out, '-q']);
    expect(child.stderr).to.equal('');
    expect(child.status).to.equal(0);
    const rows = rowsOf(out);
    const expected = signaturesFromTexts(texts);
    expect(rows.map((r) => r.id)).to.deep.equal(texts.map((_, i) => i));
    expect(rows.map((r) => r.name)).to.deep.equal(texts.map((_, i) => `doc-${i}`));
    const signatureBytes = 128 * 4;
    rows.forEach((row, i) => {
      // A BINARY_VECTOR of dim 32 x 128 is 512 numbers 0..255 in Milvus's JSON rows.
      expect(row.signature).to.have.length(signatureBytes);
      expect(row.signature.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)).to.equal(true);
      const values = new Uint32Array(bytesOfRow(row).buffer);
      expect(values).to.deep.equal(expected.row(i), `row ${i}`);
    });
  });

  it('an index built from the exported bytes joins exactly as one built from the library\'s signatures', () => {
    const out = path.join(dir, 'join.json');
    expect(run(['signatures', '--jsonl', jsonl, '-o', out, '-q']).status).to.equal(0);
    const rows = rowsOf(out);
    const exported = new Uint8Array(rows.length * 512);
    rows.forEach((row, i) => { exported.set(bytesOfRow(row), i * 512); });
    const expected = signaturesFromTexts(texts);
    const fromExport = new MinHashLSHIndex();
    const fromLibrary = new MinHashLSHIndex();
    try {
      fromExport.build(exported, 128, 4, 17, true);
      fromLibrary.build(expected.values, 128, 4, 17, true);
      const a = fromExport.selfJoin(0.8);
      const b = fromLibrary.selfJoin(0.8);
      expect(a.count).to.be.greaterThan(50);
      expect([...a.left]).to.deep.equal([...b.left]);
      expect([...a.right]).to.deep.equal([...b.right]);
      expect([...a.similarity]).to.deep.equal([...b.similarity]);
    } finally {
      fromExport.close();
      fromLibrary.close();
    }
  });

  it('writes the same bytes whatever the batch size, and from .jsonl.gz as from .jsonl', () => {
    const whole = path.join(dir, 'whole.json');
    const small = path.join(dir, 'small.json');
    const gz = path.join(dir, 'docs.jsonl.gz');
    const fromGz = path.join(dir, 'gz.json');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(jsonl)));
    expect(run(['signatures', '--jsonl', jsonl, '-o', whole, '-q']).status).to.equal(0);
    // 4 KiB batches: a few dozen documents each, so the file is many batches.
    expect(fs.statSync(jsonl).size).to.be.greaterThan(50 * 4096);
    const child = run(['signatures', '--jsonl', jsonl, '-o', small, '--batch-bytes', '4K']);
    expect(child.status).to.equal(0);
    expect(run(['signatures', '--jsonl', gz, '-o', fromGz, '-q', '--batch-bytes', '4K']).status).to.equal(0);
    expect(fs.readFileSync(small).equals(fs.readFileSync(whole))).to.equal(true);
    const gzRows = rowsOf(fromGz);
    const rows = rowsOf(whole);
    expect(gzRows.map((r) => r.signature)).to.deep.equal(rows.map((r) => r.signature));
    expect(gzRows[3]!.name).to.equal(`${gz}:4`);
  });

  it('--rows-per-file writes parts that are each a JSON document, the rows in order', () => {
    const out = path.join(dir, 'parts', 'sigs.json');
    fs.mkdirSync(path.dirname(out));
    expect(run(['signatures', '--jsonl', jsonl, '-o', out, '--rows-per-file', '150', '-q']).status).to.equal(0);
    expect(listing(path.dirname(out))).to.deep.equal(['sigs.00000.json', 'sigs.00001.json', 'sigs.00002.json']);
    const parts = [0, 1, 2].map((p) => rowsOf(partPath(out, p)));
    expect(parts.map((p) => p.length)).to.deep.equal([150, 150, 100]);
    expect(parts.flat().map((r) => r.id)).to.deep.equal(texts.map((_, i) => i));
  });

  it('refuses a document larger than --max-document-bytes by name and signs the others', () => {
    const big = path.join(dir, 'big.jsonl');
    const huge = 'word '.repeat(50_000);
    fs.writeFileSync(big, [JSON.stringify({ text: texts[0] }), JSON.stringify({ text: huge }),
      JSON.stringify({ text: texts[1] })].join('\n'));
    const out = path.join(dir, 'big.json');
    const child = run(['signatures', '--jsonl', big, '-o', out, '--max-document-bytes', '100K']);
    expect(child.status).to.equal(0);
    expect(child.stderr).to.contain(`skipped ${big}:2: 244.2 KiB, larger than --max-document-bytes (100.0 KiB)`);
    expect(rowsOf(out).map((r) => r.name)).to.deep.equal([`${big}:1`, `${big}:3`]);
    const strict = run(['signatures', '--jsonl', big, '-o', out, '--max-document-bytes', '100K', '--strict']);
    expect(strict.status).to.equal(65);
    expect(strict.stderr).to.contain(`${big}:2: 244.2 KiB, larger than --max-document-bytes`);
  });

  it('writes what the official Node SDK\'s BulkWriter writes for the same rows (JSON)', async () => {
    const out = path.join(dir, 'sdk.json');
    expect(run(['signatures', '--jsonl', '--id-field', 'id', jsonl, '-o', out, '-q']).status).to.equal(0);
    const ours = JSON.parse(fs.readFileSync(out, 'utf8')) as { rows: Row[] };
    const { BulkWriter, DataType } = await import('@zilliz/milvus2-sdk-node');
    const localPath = path.join(dir, 'sdk');
    const writer = new BulkWriter({
      schema: {
        fields: [
          { name: 'id', data_type: DataType.Int64, is_primary_key: true },
          { name: 'name', data_type: DataType.VarChar, max_length: 65535 },
          { name: 'signature', data_type: DataType.BinaryVector, dim: 32 * 128 },
        ],
      },
      format: 'json',
      localPath,
    });
    for (const row of ours.rows) await writer.append(row);
    const files = (await writer.close()).flat();
    expect(files).to.have.length(1);
    const theirs = JSON.parse(fs.readFileSync(files[0]!, 'utf8')) as unknown;
    expect(theirs).to.deep.equal(ours);
  });

  it('writes each row as JSON.stringify would (numbers 0..255, names with escapes and non-ASCII)', () => {
    const next = generator(5);
    const names = ['a.txt', 'quote " and \\ back', 'tab\there', 'é日本\u{1F600}', '0\udcff.txt', ''];
    for (let k = 0; k < 200; k++) {
      const signature = Uint8Array.from({ length: k % 17 }, () => next() & 255);
      if (k === 1) signature.set([0, 9, 10, 99, 100, 255].slice(0, signature.length));
      const name = names[k % names.length]!;
      const out = Buffer.alloc(rowBound(name, signature));
      const end = writeRow(out, 0, k * 1_000_003, name, signature);
      expect(out.subarray(0, end).toString('utf8'))
        .to.equal(JSON.stringify({ id: k * 1_000_003, name, signature: [...signature] }));
    }
  });

  it('an interrupted run (--timeout) writes nothing and leaves no temporary file', () => {
    const fifo = path.join(dir, 'never.jsonl');
    fs.rmSync(fifo, { force: true });
    // A FIFO nobody writes to: the run waits for it until --timeout.
    const { status } = spawnSync('mkfifo', [fifo]);
    expect(status).to.equal(0);
    const sub = path.join(dir, 'timeout');
    fs.mkdirSync(sub);
    const out = path.join(sub, 'sigs.json');
    const child = run(['signatures', '--jsonl', jsonl, fifo, '-o', out, '--timeout', '0.5']);
    expect(child.status).to.equal(124);
    expect(child.stderr).to.match(/timed out \(--timeout 0\.5\) while hashing after .*; no output written/);
    expect(listing(sub)).to.deep.equal([]);
  });
});

