/**
 * `knowhere-rs filter`: the online form of `dedup --keep-first`, built on
 * NearDuplicateIndex (ts/near-duplicate.ts), the class the binding offers
 * for online deduplication. Documents are read in order and each is judged
 * when it arrives: kept, and its name written, unless it is within the
 * threshold of a document kept before it (NearDuplicateIndex.addIfNew).
 * That is the greedy cover in input order that `dedup --keep-first` writes
 * (the same names for the same options), but the names come out while the
 * input is still being read, so the command can sit at the end of a pipe
 * that a crawler keeps open.
 *
 * To standard output, the names of each batch are written as soon as it is
 * judged; to a file (-o), through a temporary file renamed at the end, as
 * every command writes (ts/cli/output.ts). Memory: what the index keeps of
 * each kept document (README, "Documents and keys": about 0.8 kB with
 * --verify exact, 650 bytes with estimate), nothing for dropped ones.
 */
import { NearDuplicateIndex } from '../near-duplicate.ts';
import { candidateProbability } from '../threshold.ts';
import { CommandError, ExitCode } from './exit-codes.ts';
import { inputIdentities, listInputs, type ListedFile } from './files.ts';
import { readingUnit } from './input.ts';
import type { RunContext } from './main.ts';
import { keepEntry, keepEntryOfText } from './names.ts';
import {
  INPUT_AND_SIGNATURE_OPTIONS, UsageError, checkBandsForThreshold, parseCommandLine, parseInputAndSignatureOptions,
  thresholdOption, type InputAndSignatureOptions,
} from './options.ts';
import { OutputFile, checkOutputs, resolveOutput, writeToStdout, type InputIdentities } from './output.ts';
import { Pacer } from './pacer.ts';
import { plural } from './progress.ts';
import { SkipCounter, badInputHandler } from './skips.ts';
import { DocumentStream, placeSource, type DocumentBatch } from './stream.ts';

export interface FilterOptions extends Omit<InputAndSignatureOptions, 'threads'> {
  readonly threshold: number;
  readonly output: string;
  readonly verify: 'exact' | 'estimate';
  /** Names NUL-terminated, as they are. */
  readonly nul: boolean;
}

export const FILTER_HELP = `Usage: knowhere-rs filter [options] <file|directory|->...

Reads documents in order and writes the name of each one that is not a
near-duplicate of a document kept before it, as soon as it is judged: the
keep list of 'dedup --keep-first', online (NearDuplicateIndex.addIfNew). A
name is a file's path, FILE:LINE for a JSON line, or its --id-field value.

Input (as for dedup):
  --jsonl                 each input is JSON Lines, one document per line
  --text-field NAME       the text field of a JSON line (default: text)
  --id-field NAME         name documents by this field instead of FILE:LINE
  --include GLOB, --exclude GLOB, --strict, --max-document-bytes N, --batch-bytes N

Output:
  -o, --output FILE       the names go to FILE (default: - , standard output,
                          written batch by batch as the input is read)
  -0, --null              end each name with a NUL byte, not a newline

Near-duplicates (as for dedup):
  -t, --threshold T       Jaccard similarity at which a document is dropped (0.8)
  --verify MODE           estimate (default: the signatures' estimate, as dedup
                          without --verify) or exact (the shingle sets' Jaccard
                          similarity; the index keeps each kept document's set)
  --num-hashes K, --shingle words:N|chars:N, --bands B, --rows R, --seed S

Other:
  --timeout SECONDS       give up after that long (exit 124)
  -q, --quiet             no progress or summary on stderr

Exit status: as for dedup (docs/cli.md).
`;

/** The options of `filter` (argv without the command word). */
export function parseFilterOptions(argv: readonly string[]): FilterOptions | 'help' {
  const { threads: _threads, ...shared } = INPUT_AND_SIGNATURE_OPTIONS; // one thread: documents are judged in order
  const parsed = parseCommandLine(argv,
    { ...shared, 'verify': { type: 'string' }, 'null': { type: 'boolean', short: '0' } });
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (parsed.positionals.length === 0) throw new UsageError('no input: give files, directories or - (standard input)');
  const threshold = thresholdOption(v.threshold, true);
  const { threads: _, ...options } = parseInputAndSignatureOptions(v, parsed.positionals);
  checkBandsForThreshold(threshold, options);
  const verify = v.verify ?? 'estimate';
  if (verify !== 'estimate' && verify !== 'exact') {
    throw new UsageError(`--verify: expected estimate or exact, got ${verify}`);
  }
  return { ...options, threshold, output: v.output ?? '-', verify, nul: v.null === true };
}

/** Where the names go: standard output batch by batch, or a file renamed
 * into place at the end. */
class NameSink {
  readonly #ctx: RunContext;
  readonly #file: OutputFile | null;

  private constructor(ctx: RunContext, file: OutputFile | null) {
    this.#ctx = ctx;
    this.#file = file;
  }

  static async open(options: FilterOptions, ctx: RunContext, inputs: InputIdentities): Promise<NameSink> {
    if (options.output === '-') return new NameSink(ctx, null);
    const target = await resolveOutput('--output', options.output);
    checkOutputs([target], inputs);
    return new NameSink(ctx, await OutputFile.create(target));
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    if (this.#file !== null) {
      await this.#file.write(chunk);
      return;
    }
    await writeToStdout(this.#ctx, chunk);
  }

  async commit(): Promise<void> {
    if (this.#file === null) return;
    await this.#file.finish();
    this.#file.renameSync();
  }

  async discard(): Promise<void> {
    await this.#file?.discard();
  }
}

function indexOf(options: FilterOptions): NearDuplicateIndex {
  const bands = options.bands ?? (options.rows === null ? undefined : Math.floor(options.numHashes / options.rows));
  return new NearDuplicateIndex({
    threshold: options.threshold,
    shingle: { kind: options.shingle.kind === 'words' ? 'word' : 'char', size: options.shingle.size },
    numHashes: options.numHashes, verify: options.verify, seed: options.seed,
    ...(bands === undefined ? {} : { bands }),
  });
}

export async function runFilter(options: FilterOptions, ctx: RunContext): Promise<void> {
  const { reporter, signal } = ctx;
  const started = performance.now();
  if (options.output !== '-') await resolveOutput('--output', options.output); // checked before any work
  const skips = new SkipCounter();
  const onBadInput = badInputHandler(options, reporter, skips);
  reporter.start('listing', 'files');
  const listing = await listInputs({
    inputs: options.inputs, include: options.include, exclude: options.exclude, signal, onBadInput,
    onProgress: (count) => { reporter.update(count, 0); },
  });
  const sink = await NameSink.open(options, ctx, await inputIdentities(listing.all, options.inputs));
  reporter.end(plural(listing.files.length, 'file'));

  const index = indexOf(options);
  let read = 0;
  let kept = 0;
  try {
    const stream = new DocumentStream({
      files: listing.files, jsonl: options.jsonl, textField: options.textField, idField: options.idField,
      maxDocumentBytes: options.maxDocumentBytes, batchBytes: options.batchBytes, signal, stdin: ctx.io.stdin,
      onBadInput, onProgress: (done, total) => { reporter.update(done, total); },
    });
    const pacer = new Pacer(signal);
    reporter.start('filtering', readingUnit(options.jsonl));
    for await (const batch of stream.batches()) {
      signal.throwIfAborted();
      const names = await judge(index, batch, read, listing.files, options.nul, pacer);
      read += batch.count;
      kept += names.count;
      stream.release(batch);
      await sink.write(names.bytes);
    }
    if (options.quiet && skips.total > 0) ctx.io.stderr.write(`${skips.summary()}\n`);
    if (read === 0) {
      throw new CommandError(`no document to filter${skips.total > 0 ? ` (${plural(skips.total, 'input')} skipped)`
        : ''}; no output written`, ExitCode.NO_INPUT);
    }
    reporter.end(`${plural(read, 'document')}: ${kept} kept, ${read - kept} dropped` +
      (skips.total > 0 ? `, ${skips.total} skipped` : ''));
    await sink.commit();
  } catch (error) {
    await sink.discard();
    throw error;
  } finally {
    index.close();
  }
  if (!options.quiet) {
    const bands = index.options.bands;
    const rows = Math.floor(options.numHashes / bands);
    ctx.io.stderr.write(`knowhere-rs: ${plural(read, 'document')} in ${((performance.now() - started) / 1000).toFixed(2)} ` +
      `s: ${kept} kept, ${read - kept} near-duplicates of a kept one at Jaccard >= ${options.threshold} dropped ` +
      `(${options.verify === 'exact' ? 'exact' : 'estimated'} similarity; ${bands} bands x ${rows} rows, ` +
      `P(candidate) at the threshold ${candidateProbability(options.threshold, bands, rows).toFixed(3)})\n`);
  }
}

/** Judges a batch's documents in order (document i is row first + i of
 * the run) and returns the keep-list entries of those kept. A batch may
 * hold tens of thousands of documents: the pacer gives the event loop a
 * turn every few milliseconds, so that Ctrl-C and --timeout are seen. */
async function judge(index: NearDuplicateIndex, batch: DocumentBatch, first: number, files: readonly ListedFile[],
                     nul: boolean, pacer: Pacer): Promise<{ bytes: Buffer; count: number }> {
  const parts: Buffer[] = [];
  for (let i = 0; i < batch.count; i++) {
    if ((i & 63) === 63) await pacer.tick();
    const text = batch.texts.subarray(Number(batch.offsets[i]), Number(batch.offsets[i + 1]));
    if (!index.addIfNew(first + i, text).added) continue;
    const place = placeSource(files[batch.file[i]!]!, batch.line[i]!, batch.ids?.[i] ?? null);
    const entry = place.nameBytes === undefined ? keepEntryOfText(place.name, nul) : keepEntry(place.nameBytes, nul);
    parts.push(typeof entry === 'string' ? Buffer.from(entry) : entry);
  }
  return { bytes: Buffer.concat(parts), count: parts.length };
}
