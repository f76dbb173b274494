/**
 * `knowhere-rs signatures`: every document's MinHash signature, written as
 * the rows of a JSON file that Milvus's bulk import reads (docs/milvus.md),
 * for users who move near-duplicate search to a Milvus cluster:
 *
 *   {"rows":[
 *   {"id":0,"name":"docs/a.txt","signature":[18,201,7,...]},
 *   ...
 *   ]}
 *
 * `id` is the document's index in reading order (an INT64 primary key),
 * `name` its name as dedup gives it, `signature` the signature's bytes as
 * the library lays them out (K values of 4 bytes, little-endian): a
 * BINARY_VECTOR of dim 32 x K, each byte as a number, as the bulk import's
 * JSON rows carry a binary vector. The layout is the one the official
 * Node SDK's BulkWriter writes (test/signatures.test.ts compares). Milvus's MINHASH_LSH index with
 * mh_element_bit_width 32 compares the same 4-byte values and, with
 * mh_lsh_band equal to our bands, hashes the same band keys.
 *
 * The documents are streamed (ts/cli/stream.ts): read in bounded batches,
 * hashed in place, written, and forgotten, so memory does not grow with
 * the corpus. The file (or each file, with --rows-per-file) is written to a
 * temporary file and renamed when everything is written; an interruption
 * leaves nothing behind.
 */
import { signaturesOfPackedAsync } from '../signature.ts';
import { candidateProbability, chooseBands } from '../threshold.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { inputIdentities, listInputs } from './files.ts';
import { readingUnit } from './input.ts';
import type { RunContext } from './main.ts';
import {
  INPUT_AND_SIGNATURE_OPTIONS, UsageError, integerOption, parseCommandLine, parseInputAndSignatureOptions,
  thresholdOption, type InputAndSignatureOptions,
} from './options.ts';
import { OutputFile, checkOutputs, resolveOutput, writeToStdout, type InputIdentities, type OutputTarget } from './output.ts';
import { formatBytes, plural } from './progress.ts';
import { SkipCounter, badInputHandler } from './skips.ts';
import {
  DocumentStream, placeSource, readAhead, type DocumentBatch,
} from './stream.ts';

export interface SignaturesOptions extends InputAndSignatureOptions {
  readonly threshold: number;
  readonly output: string;
  /** Rows per output file (files NAME.00000.json, ...), or null: one file. */
  readonly rowsPerFile: number | null;
}

export const SIGNATURES_HELP = `Usage: knowhere-rs signatures [options] <file|directory|->...

Writes every document's MinHash signature as a row of a JSON file that
Milvus's bulk import reads (a BINARY_VECTOR of dim 32 x K), to search or
deduplicate the same documents in a Milvus cluster with its MINHASH_LSH
index; docs/milvus.md gives the collection and the index parameters:

  {"rows":[
  {"id":0,"name":"docs/a.txt","signature":[18,201,7,...]},
  ...
  ]}

Input (as for knowhere-rs dedup):
  --include GLOB, --exclude GLOB, --jsonl, --text-field NAME, --id-field NAME,
  --strict
  --max-document-bytes N  refuse a document (a file, or a JSON line) larger
                          than N bytes (default 64M; K, M, G suffixes)
  --batch-bytes N         text hashed per native call (default 16M)

Output:
  -o, --output FILE       write there (default: standard output)
  --rows-per-file N       write FILE's name with .00000, .00001, ... before
                          its extension, N rows each (Milvus imports at most
                          16 GB per file by default)

Signatures (the same as dedup's, so that both agree):
  --num-hashes K          values per signature (default 128)
  --shingle KIND:N        words:3 (default) or chars:5, any N
  --seed N                hash seed (default 0)
  -t, --threshold T       with --bands / --rows: only for the index parameters
  --bands B, --rows R     printed at the end (mh_lsh_band), as dedup chooses
  --threads N             native threads (default: one per core)
  --timeout SECONDS       give up after that long (exit 124)
  -q, --quiet             no progress or summary on stderr

Exit status: as for dedup (docs/cli.md).
`;

/** The options of `signatures` (argv without the command word). */
export function parseSignaturesOptions(argv: readonly string[]): SignaturesOptions | 'help' {
  const parsed = parseCommandLine(argv, { ...INPUT_AND_SIGNATURE_OPTIONS, 'rows-per-file': { type: 'string' } });
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (parsed.positionals.length === 0) throw new UsageError('no input: give files, directories or - (standard input)');
  const shared = parseInputAndSignatureOptions(v, parsed.positionals);
  const threshold = thresholdOption(v.threshold, false);
  const output = v.output ?? '-';
  const rowsPerFile = v['rows-per-file'] === undefined ? null : integerOption(v['rows-per-file'], 'rows-per-file', 1);
  if (rowsPerFile !== null && output === '-') throw new UsageError('--rows-per-file needs --output FILE');
  return { ...shared, threshold, output, rowsPerFile };
}

// ---------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------

/** Output is written in chunks of about this many bytes. */
const FLUSH_BYTES = 1 << 20;
const COMMA = 0x2c;
const ZERO = 0x30;

/** Writes one row, JSON.stringify({ id, name, signature: [...signature] })
 * as UTF-8, into out at `at` (room for it must be there: rowBound) and
 * returns where it ends. The byte list, most of a row, is written digit by
 * digit (ten times faster than joining the numbers). */
export function writeRow(out: Buffer, at: number, id: number, name: string, signature: Uint8Array): number {
  at += out.write(`{"id":${id},"name":${JSON.stringify(name)},"signature":[`, at, 'utf8');
  for (let i = 0; i < signature.length; i++) {
    const b = signature[i]!;
    if (b >= 100) {
      out[at++] = ZERO + Math.floor(b / 100);
      out[at++] = ZERO + (Math.floor(b / 10) % 10);
    } else if (b >= 10) {
      out[at++] = ZERO + Math.floor(b / 10);
    }
    out[at++] = ZERO + (b % 10);
    out[at++] = COMMA;
  }
  if (signature.length > 0) at--;
  out[at++] = 0x5d; // ]
  out[at++] = 0x7d; // }
  return at;
}

/** Bytes a row may take: 4 per signature byte, the name as JSON (6 per
 * UTF-16 unit at most, \uXXXX), and the rest. */
export function rowBound(name: string, signature: Uint8Array): number {
  return 4 * signature.length + 6 * name.length + 64;
}

/** The path of part `part` of --rows-per-file: NAME.00000.json. */
export function partPath(output: string, part: number): string {
  const number = String(part).padStart(5, '0');
  const dot = output.lastIndexOf('.');
  const slash = output.lastIndexOf('/');
  return dot > slash + 1 ? `${output.slice(0, dot)}.${number}${output.slice(dot)}` : `${output}.${number}`;
}

/**
 * Where the rows go: standard output, one file, or parts of
 * `rowsPerFile` rows. Files are written to temporary files, renamed over
 * their names only by commit() (all of them, once all are complete), and
 * removed by discard().
 */
class RowWriter {
  readonly #options: SignaturesOptions;
  readonly #ctx: RunContext;
  readonly #inputs: InputIdentities;
  readonly #files: OutputFile[] = [];
  #current: OutputFile | null = null;
  #rowsInFile = 0;
  #buffer = Buffer.allocUnsafeSlow(FLUSH_BYTES + (1 << 16));
  #used = 0;
  bytes = 0;

  constructor(options: SignaturesOptions, ctx: RunContext, inputs: InputIdentities) {
    this.#options = options;
    this.#ctx = ctx;
    this.#inputs = inputs;
  }

  get files(): number {
    return this.#files.length;
  }

  async row(id: number, name: string, signature: Uint8Array): Promise<void> {
    const perFile = this.#options.rowsPerFile;
    if (this.#current === null && this.#options.output !== '-') await this.#open();
    else if (perFile !== null && this.#rowsInFile === perFile) {
      await this.#closeFile();
      await this.#open();
    }
    this.#text(this.#rowsInFile === 0 ? '{"rows":[\n' : ',\n');
    const bound = rowBound(name, signature);
    if (this.#buffer.length - this.#used < bound) {
      await this.#flush();
      if (this.#buffer.length < bound) this.#buffer = Buffer.allocUnsafeSlow(bound);
    }
    this.#used = writeRow(this.#buffer, this.#used, id, name, signature);
    this.#rowsInFile++;
    if (this.#used >= FLUSH_BYTES) await this.#flush();
  }
  /** Ends the last file and renames them all. */
  async commit(): Promise<void> {
    if (this.#current === null && this.#options.output !== '-' && this.#files.length === 0) await this.#open();
    await this.#closeFile();
    this.#ctx.signal.throwIfAborted();
    for (const file of this.#files) file.renameSync();
  }

  async discard(): Promise<void> {
    await Promise.all(this.#files.map((file) => file.discard()));
  }

  async #open(): Promise<void> {
    const { output, rowsPerFile } = this.#options;
    const given = rowsPerFile === null ? output : partPath(output, this.#files.length);
    const target: OutputTarget = await resolveOutput('--output', given);
    checkOutputs([target], this.#inputs);
    this.#current = await OutputFile.create(target);
    this.#files.push(this.#current);
    this.#rowsInFile = 0;
  }

  async #closeFile(): Promise<void> {
    this.#text(this.#rowsInFile === 0 ? '{"rows":[]}\n' : '\n]}\n');
    await this.#flush();
    await this.#current?.finish();
    this.#current = null;
    this.#rowsInFile = 0;
  }

  /** A few bytes of ASCII (the buffer always has room for them). */
  #text(text: string): void {
    this.#used += this.#buffer.write(text, this.#used, 'latin1');
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    // A copy: the buffer is reused at once, and OutputFile keeps chunks.
    const chunk = Buffer.from(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
    this.bytes += chunk.length;
    if (this.#current !== null) {
      await this.#current.write(chunk);
      return;
    }
    await writeToStdout(this.#ctx, chunk);
  }
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

function bandsOf(options: SignaturesOptions): { bands: number; rows: number; probability: number } {
  if (options.bands === null && options.rows === null) return chooseBands(options.numHashes, options.threshold, 0.95);
  const bands = options.bands ?? Math.floor(options.numHashes / options.rows!);
  const rows = Math.floor(options.numHashes / bands);
  return { bands, rows, probability: candidateProbability(options.threshold, bands, rows) };
}

export async function runSignatures(options: SignaturesOptions, ctx: RunContext): Promise<void> {
  const { reporter, signal } = ctx;
  const started = performance.now();
  // The output's directory is checked before any work.
  if (options.output !== '-') await resolveOutput('--output', options.rowsPerFile === null ? options.output
    : partPath(options.output, 0));
  const skips = new SkipCounter();
  const onBadInput = badInputHandler(options, reporter, skips);
  reporter.start('listing', 'files');
  const listing = await listInputs({
    inputs: options.inputs, include: options.include, exclude: options.exclude, signal, onBadInput,
    onProgress: (count) => { reporter.update(count, 0); },
  });
  const inputs = await inputIdentities(listing.all, options.inputs);
  if (options.output !== '-') checkOutputs([await resolveOutput('--output', options.output)], inputs);
  reporter.end(plural(listing.files.length, 'file'));

  const stream = new DocumentStream({
    files: listing.files, jsonl: options.jsonl, textField: options.textField, idField: options.idField,
    maxDocumentBytes: options.maxDocumentBytes, batchBytes: options.batchBytes, signal, stdin: ctx.io.stdin,
    onBadInput, onProgress: (done, total) => { reporter.update(done, total); },
  });
  const writer = new RowWriter(options, ctx, inputs);
  const signatureBytes = options.numHashes * 4;
  let id = 0;
  reporter.start('hashing', readingUnit(options.jsonl));
  try {
    await readAhead(stream.batches(), async (batch: DocumentBatch) => {
      const signatures = await signaturesOfPackedAsync({ texts: batch.texts, offsets: batch.offsets, ndocs: batch.count }, {
        numHashes: options.numHashes, shingle: options.shingle.kind, shingleSize: options.shingle.size,
        seed: options.seed, threads: options.threads, signal,
      });
      stream.release(batch);
      const bytes = new Uint8Array(signatures.values.buffer, signatures.values.byteOffset, signatures.values.byteLength);
      for (let i = 0; i < batch.count; i++) {
        const name = placeSource(listing.files[batch.file[i]!]!, batch.line[i]!, batch.ids?.[i] ?? null).name;
        await writer.row(id++, name, bytes.subarray(i * signatureBytes, (i + 1) * signatureBytes));
      }
    });
    if (options.quiet && skips.total > 0) ctx.io.stderr.write(`${skips.summary()}\n`);
    if (id === 0) {
      throw new CommandError(`no document to sign${skips.total > 0 ? ` (${plural(skips.total, 'input')} skipped)`
        : ''}; no output written`, ExitCode.NO_INPUT);
    }
    reporter.end(`${plural(id, 'signature')} of ${options.numHashes} hashes (${formatBytes(stream.textBytes)} of text)` +
      (skips.total > 0 ? `, ${skips.total} skipped` : ''));
    reporter.start('writing', 'bytes');
    await writer.commit();
    reporter.end(`${formatBytes(writer.bytes)} to ${options.output === '-' ? 'standard output'
      : plural(Math.max(1, writer.files), 'file')}`);
  } catch (error) {
    await writer.discard();
    throw error;
  }
  if (!options.quiet) {
    const { bands, rows } = bandsOf(options);
    ctx.io.stderr.write(`knowhere-rs: ${plural(id, 'document')} in ${((performance.now() - started) / 1000).toFixed(2)} s; ` +
      `Milvus: BINARY_VECTOR dim ${32 * options.numHashes}, MINHASH_LSH with mh_element_bit_width 32, ` +
      `mh_lsh_band ${bands} (${rows} rows), with_raw_data true; search with mh_search_with_jaccard true ` +
      '(docs/milvus.md)\n');
  }
}
