/**
 * `--stats`: where a run's memory went, printed at its end (docs/cli.md,
 * "Corpora larger than memory"). The peak is the process's (getrusage's
 * maxrss, as /proc/self/status's VmHWM); the parts are what the run holds
 * per document at its end: the index (raw signatures and band tables) and
 * the documents' places; the rest is Node itself and the batches.
 */
import { formatBytes } from './progress.ts';

export interface MemoryParts {
  readonly documents: number;
  /** The index's memoryUsage at its largest (0 without one). */
  readonly indexBytes: number;
  /** The DocumentTable's bytes (places and ids). */
  readonly placeBytes: number;
}

/** Peak resident memory of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

const perDocument = (bytes: number, documents: number): string =>
  documents === 0 ? '' : ` (${Math.round(bytes / documents)} B/document)`;

/** The --stats line. */
export function memoryLine(parts: MemoryParts, peak = peakRssBytes()): string {
  const { documents, indexBytes, placeBytes } = parts;
  const rest = Math.max(0, peak - indexBytes - placeBytes);
  return `memory: peak RSS ${formatBytes(peak)} for ${documents} documents${perDocument(peak, documents)}: ` +
    `index ${formatBytes(indexBytes)}${perDocument(indexBytes, documents)}, places ${formatBytes(placeBytes)}` +
    `${perDocument(placeBytes, documents)}, the rest ${formatBytes(rest)} (Node, batches, clusters)`;
}
