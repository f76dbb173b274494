/**
 * Keeps long JavaScript loops (parsing, verifying, writing) responsive to
 * Ctrl-C and --timeout: tick() gives the event loop a turn every SLICE_MS of
 * work (so signal handlers and timers run) and then throws the abort reason
 * if the run's signal has aborted.
 */
const SLICE_MS = 20;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Pacer {
  readonly #signal: AbortSignal;
  #last = performance.now();

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  async tick(): Promise<void> {
    if (performance.now() - this.#last < SLICE_MS) return;
    await yieldToEventLoop();
    this.#last = performance.now();
    this.#signal.throwIfAborted();
  }
}
