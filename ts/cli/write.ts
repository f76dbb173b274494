/**
 * What `knowhere-rs dedup` writes: the clusters as JSON Lines, the pairs as
 * CSV, the keep list; and the writing phase, which puts them in their files
 * (ts/cli/output.ts: temporary files renamed together at the end) or on
 * standard output.
 *
 * Names: JSON gets each name's text (bytes that are not UTF-8 as \udcXX),
 * CSV and the keep list the name's bytes (ts/cli/names.ts).
 */
import { once } from 'node:events';

import type { Cluster, Pairs } from './clusters.ts';
import { nameBytesOf, type DocumentSource } from './input.ts';
import { csvBytes, keepEntry, keepEntryOfText } from './names.ts';
import { OutputFile, type OutputTarget } from './output.ts';
import { Pacer } from './pacer.ts';
import { formatBytes, type PhaseReporter } from './progress.ts';

/** Standard output, as far as writing needs it. */
export interface Writable extends NodeJS.EventEmitter {
  readonly isTTY?: boolean | undefined;
  write(chunk: string | Uint8Array): boolean;
}

export interface WriteContext {
  readonly signal: AbortSignal;
  readonly reporter: PhaseReporter;
  readonly stdout: Writable;
  /** Set once something went to standard output (then an interruption
   * leaves it incomplete). */
  stdoutStarted: boolean;
}

/** A line of output: text (written as UTF-8) or bytes. */
type Line = string | Uint8Array;

export interface Output {
  readonly target: OutputTarget;
  readonly lines: Iterable<Line>;
}

export interface Destinations {
  /** The clusters or the pairs. */
  readonly content: Output | null;
  readonly keep: Output | null;
}

function sourceJson(source: DocumentSource, index: number): Record<string, unknown> {
  const json: Record<string, unknown> = { index, name: source.name };
  if (source.line !== undefined) {
    json['file'] = source.file === '-' ? '<stdin>' : source.file;
    json['line'] = source.line;
  }
  return json;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/** JSON.stringify({ ...sourceJson(source, index), similarity }), written
 * out: the same bytes, without an object per member (a cluster may have a
 * million). */
function memberJson(source: DocumentSource, index: number, similarity: number): string {
  const place = source.line === undefined ? ''
    : `,"file":${JSON.stringify(source.file === '-' ? '<stdin>' : source.file)},"line":${source.line}`;
  return `{"index":${index},"name":${JSON.stringify(source.name)}${place},"similarity":${similarity}}`;
}

/** Members written per piece of a cluster's line. */
const MEMBERS_PER_PIECE = 1024;

/** One JSON line per cluster: the representative, then every member with
 * its similarity to the representative. A line is made in pieces of
 * MEMBERS_PER_PIECE members (the same bytes as one JSON.stringify of the
 * whole), so that a cluster of a million documents never becomes one
 * string or one array of a million objects. */
export function* clusterLines(clusters: readonly Cluster[], source: (i: number) => DocumentSource): Generator<Line> {
  for (const cluster of clusters) {
    const rep = cluster.representative;
    const head = JSON.stringify({ representative: sourceJson(source(rep), rep), size: cluster.members.length });
    yield `${head.slice(0, -1)},"members":[`; // the head without its closing brace
    for (let first = 0; first < cluster.members.length; first += MEMBERS_PER_PIECE) {
      const piece: string[] = [];
      const end = Math.min(cluster.members.length, first + MEMBERS_PER_PIECE);
      for (let k = first; k < end; k++) {
        const m = cluster.members[k]!;
        piece.push(memberJson(source(m), m, m === rep ? 1 : round(cluster.similarities[k]!)));
      }
      yield `${first > 0 ? ',' : ''}${piece.join(',')}`;
    }
    yield ']}\n';
  }
}

const COMMA = Buffer.from(',');

export function* pairLines(pairs: Pairs, source: (i: number) => DocumentSource): Generator<Line> {
  yield 'left_index,right_index,left,right,similarity\n';
  for (let i = 0; i < pairs.count; i++) {
    const l = pairs.left[i]!;
    const r = pairs.right[i]!;
    yield Buffer.concat([Buffer.from(`${l},${r},`), csvBytes(nameBytesOf(source(l))), COMMA,
      csvBytes(nameBytesOf(source(r))), Buffer.from(`,${round(pairs.similarity[i]!)}\n`)]);
  }
}

/** The documents to keep, in input order: every document that is not a
 * non-representative member of a cluster. */
export function* keepLines(n: number, clusters: readonly Cluster[], source: (i: number) => DocumentSource,
                           nul: boolean): Generator<Line> {
  const dropped = new Uint8Array(n);
  for (const cluster of clusters) for (const m of cluster.members) if (m !== cluster.representative) dropped[m] = 1;
  for (let v = 0; v < n; v++) {
    if (dropped[v] !== 0) continue;
    const place = source(v);
    yield place.nameBytes === undefined ? keepEntryOfText(place.name, nul) : keepEntry(place.nameBytes, nul);
  }
}

/** Writes `lines` to `sink` in chunks of about 64 KiB. */
async function writeLines(lines: Iterable<Line>, sink: (chunk: Buffer) => Promise<void>, pacer: Pacer):
  Promise<void> {
  let parts: Buffer[] = [];
  let text = '';
  let size = 0;
  const takeText = (): void => {
    if (text !== '') parts.push(Buffer.from(text));
    text = '';
  };
  for (const line of lines) {
    if (typeof line === 'string') {
      text += line;
      size += line.length;
    } else {
      takeText();
      parts.push(Buffer.from(line.buffer, line.byteOffset, line.byteLength));
      size += line.byteLength;
    }
    if (size >= 1 << 16) {
      takeText();
      await sink(Buffer.concat(parts));
      parts = [];
      size = 0;
      await pacer.tick();
    }
  }
  takeText();
  if (parts.length > 0) await sink(Buffer.concat(parts));
}

/** Writes the outputs: files first (renamed together, with no event in
 * between, only once all are complete), then standard output. */
export async function writePhase(ctx: WriteContext, destinations: Destinations): Promise<void> {
  const outputs = [destinations.content, destinations.keep].filter((o): o is Output => o !== null);
  if (outputs.length === 0) return;
  const { reporter } = ctx;
  reporter.start('writing', 'bytes');
  const pacer = new Pacer(ctx.signal);
  let bytes = 0;
  const counted = (sink: (chunk: Buffer) => Promise<void>) => async (chunk: Buffer): Promise<void> => {
    await sink(chunk);
    bytes += chunk.byteLength;
    reporter.update(bytes, 0);
  };
  const files: OutputFile[] = [];
  const written: string[] = [];
  try {
    for (const output of outputs) {
      if (output.target.kind === 'stdout') continue;
      const file = await OutputFile.create(output.target);
      files.push(file);
      await writeLines(output.lines, counted((chunk) => file.write(chunk)), pacer);
      written.push(output.target.given);
    }
    ctx.signal.throwIfAborted();
    for (const file of files) await file.finish();
    ctx.signal.throwIfAborted();
    for (const file of files) file.renameSync();
  } catch (error) {
    await Promise.all(files.map((file) => file.discard()));
    throw error;
  }
  const toStdout = outputs.find((o) => o.target.kind === 'stdout');
  if (toStdout !== undefined) {
    // On the terminal that shows the bar: the output starts on a clean line.
    if (ctx.stdout.isTTY === true) reporter.hold();
    ctx.stdoutStarted = true;
    await writeLines(toStdout.lines, counted(async (chunk) => {
      if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
    }), pacer);
    written.push('standard output');
  }
  reporter.end(`${formatBytes(bytes)} to ${written.join(' and ')}`);
}
