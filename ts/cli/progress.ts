/**
 * Phase reporting on stderr: a progress bar redrawn in place when stderr is
 * a terminal, plain lines (one per finished phase, with its time)
 * otherwise, nothing with --quiet. The times are kept for the summary.
 * While the output goes to the same terminal (standard output), the bar is
 * held: cleared and not redrawn, so the output starts on a line of its own.
 */

export interface PhaseTime {
  readonly phase: string;
  readonly ms: number;
  /** What the phase did, e.g. "6046 documents". */
  readonly detail: string;
}

interface Stream {
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  write(chunk: string): boolean;
}

/** Redraws at most this often (ms). */
const REDRAW_MS = 80;
const BAR_WIDTH = 24;

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** "1 pair", "2 pairs". */
export function plural(n: number, word: string): string {
  return `${n} ${n === 1 ? word : `${word}s`}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * `done` of `total` library units as a count of `units` (the library's
 * build progress counts band entries, rows x (2 bands + 1), not documents):
 * the same fraction of `units`, 0 when the total is unknown.
 */
export function scaledProgress(done: number, total: number, units: number): number {
  if (!(total > 0)) return 0;
  return Math.floor(Math.min(1, Math.max(0, done / total)) * units);
}

export class PhaseReporter {
  readonly #stream: Stream;
  readonly #bar: boolean;
  readonly #quiet: boolean;
  readonly #times: PhaseTime[] = [];
  #phase: string | null = null;
  #unit = '';
  #started = 0;
  #lastDraw = 0;
  #drawn = false;
  #held = false;

  constructor(stream: Stream, options: { readonly quiet: boolean }) {
    this.#stream = stream;
    this.#quiet = options.quiet;
    this.#bar = !options.quiet && stream.isTTY === true;
  }

  /** Whether a bar is drawn (stderr is a terminal). */
  get interactive(): boolean {
    return this.#bar;
  }

  /** The finished phases, in order. */
  get times(): readonly PhaseTime[] {
    return this.#times;
  }

  /** The phase running, if any (for the message of an interruption). */
  get current(): string | null {
    return this.#phase;
  }

  start(phase: string, unit: string, total?: number): void {
    this.#phase = phase;
    this.#unit = unit;
    this.#started = performance.now();
    this.#lastDraw = 0;
    if (this.#bar) this.update(0, total ?? 0);
  }

  /** `done` of `total` units (total 0: unknown). Cheap to call often. */
  update(done: number, total: number): void {
    if (!this.#bar || this.#phase === null || this.#held) return;
    const now = performance.now();
    // Throttled, except the completing draw of a known total.
    if (now - this.#lastDraw < REDRAW_MS && !(total > 0 && done >= total)) return;
    this.#lastDraw = now;
    const elapsed = formatSeconds(now - this.#started);
    let line: string;
    if (total > 0) {
      const fraction = Math.min(1, done / total);
      const filled = Math.round(fraction * BAR_WIDTH);
      line = `${this.#phase.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` +
        `${(fraction * 100).toFixed(0).padStart(3)}%  ${this.#amount(done, total)}  ${elapsed}`;
    } else {
      line = `${this.#phase.padEnd(10)} ${this.#amount(done, null)}  ${elapsed}`;
    }
    const columns = this.#stream.columns;
    const width = columns !== undefined && columns > 0 ? columns : 80;
    this.#stream.write(`\r\x1b[K${line.slice(0, Math.max(20, width - 1))}`);
    this.#drawn = true;
  }

  /** Ends the running phase: its line (plain or over the bar) and time. */
  end(detail: string): void {
    if (this.#phase === null) return;
    const ms = performance.now() - this.#started;
    this.#times.push({ phase: this.#phase, ms, detail });
    if (!this.#quiet) {
      const text = `${this.#phase}: ${detail} in ${formatSeconds(ms)}`;
      this.#stream.write(this.#bar ? `\r\x1b[K${text}\n` : `knowhere-rs: ${text}\n`);
    }
    this.#phase = null;
    this.#drawn = false;
    this.#held = false;
  }

  /** Clears the bar and draws no more until the phase ends: standard
   * output is being written to the same terminal. */
  hold(): void {
    this.clear();
    this.#held = true;
  }

  /** Clears a half-drawn bar (before a message, or on failure). */
  clear(): void {
    if (this.#bar && this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }

  /** A message on its own line, not mixed into the bar (none when quiet). */
  message(text: string): void {
    if (this.#quiet) return;
    this.clear();
    this.#stream.write(`${text}\n`);
  }

  /** "3142/6046 documents", "1.2 MiB/32.0 MiB", "512 pairs". */
  #amount(done: number, total: number | null): string {
    if (this.#unit === 'bytes') {
      return total === null ? formatBytes(done) : `${formatBytes(done)}/${formatBytes(total)}`;
    }
    return `${total === null ? done : `${done}/${total}`} ${this.#unit}`;
  }
}
