/**
 * The specification's interrupt examples (INTERRUPT.md), in TypeScript:
 * the flag and its API, the check_interrupt! macro, cancelling a loop that
 * runs on another thread (a worker_threads Worker), the MinHash-LSH
 * integration with its error-handling match, and a native build running on
 * the libuv thread pool cancelled from a timer on the main thread.
 *
 * Run: npm run example:interrupt (or npx tsx examples/interrupt_example.ts)
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import {
  Interrupt, InterruptedError, KnowhereError, MinHashLSHIndex, checkInterrupt, type SharedInterruptToken,
} from '../ts/index.ts';

/** The spec's "long-running operation": returns where it stopped. */
function longOperation(interrupt: Interrupt, iterations: number, work: () => void): number {
  for (let i = 0; i < iterations; i++) {
    if (interrupt.isInterrupted()) {
      console.log(`  Operation cancelled at iteration ${i}`);
      return i;
    }
    work();
  }
  return iterations;
}

function apiReference(): void {
  console.log('API reference');
  using interrupt = new Interrupt();
  console.log(`  new Interrupt(): isInterrupted() = ${interrupt.isInterrupted()}`);
  using started = Interrupt.withState(true);
  console.log(`  Interrupt.withState(true): isInterrupted() = ${started.isInterrupted()}`);
  interrupt.interrupt();
  console.log(`  after interrupt(): ${interrupt.isInterrupted()}`);
  interrupt.reset();
  console.log(`  after reset(): ${interrupt.isInterrupted()}`);
  const wasInterrupted = interrupt.testAndSet();
  console.log(`  testAndSet() returned ${wasInterrupted}, flag now ${interrupt.isInterrupted()}`);
  using clone = interrupt.clone();
  interrupt.reset();
  console.log(`  clone() shares the flag: reset on the original, clone reads ${clone.isInterrupted()}`);
}

function checkInterruptMacro(): void {
  console.log('checkInterrupt (the check_interrupt! macro)');
  using interrupt = new Interrupt();
  const longOperationWithCheck = (): void => {
    for (let i = 0; i < 1000; i++) {
      checkInterrupt(interrupt, 'Operation was cancelled by user');
      if (i === 250) interrupt.interrupt(); // stands in for a cancel request arriving
    }
  };
  try {
    longOperationWithCheck();
    console.log('  completed');
  } catch (error) {
    if (error instanceof KnowhereError && error.isInterrupted()) {
      console.log(`  ${error.name} (${error.code}, status ${error.status}): ${error.message}`);
    } else {
      throw error;
    }
  }
}

/**
 * The spec's "Thread Safety" example: a worker thread loops until the
 * controller thread interrupts it through a clone of the flag. On Node 20 a
 * Worker does not inherit tsx, so its entry point registers tsx and imports
 * this file again, which then takes the `!isMainThread` branch.
 */
async function workerThread(): Promise<void> {
  console.log('Thread safety: a worker thread cancelled from the main thread');
  using interrupt = new Interrupt();
  using controller = interrupt.clone();
  const bootstrap = [
    `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};`,
    'register();',
    `await import(${JSON.stringify(import.meta.url)});`,
  ].join('\n');
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
    workerData: { token: interrupt.share() },
  });
  const stopped = new Promise<{ reached: number }>((resolve, reject) => {
    worker.on('message', resolve);
    worker.on('error', reject);
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // thread::sleep
  controller.interrupt(); // clone.interrupt(): signal cancellation
  const { reached } = await stopped;
  console.log(`  the worker saw the flag and stopped after ${reached} iterations`);
}

function workerMain(): void {
  const { token } = workerData as { token: SharedInterruptToken };
  using interrupt = Interrupt.fromShared(token);
  let sink = 0;
  const reached = longOperation(interrupt, Number.MAX_SAFE_INTEGER, () => { sink += Math.sqrt(sink + 1); });
  parentPort!.postMessage({ reached });
}

/** Stand-in MinHash signatures: `n` rows of 64 one-byte values. */
function signatures(n: number, seed: number): Uint8Array {
  const data = new Uint8Array(n * 64);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state >>> 24;
  }
  return data;
}

function describeFailure(what: string, error: unknown): void {
  // The spec's match: Err(e) if e.is_interrupted() => cancelled; Err(e) => failed.
  if (error instanceof KnowhereError && error.isInterrupted()) {
    console.log(`  ${what} cancelled (${error.message})`);
  } else if (error instanceof KnowhereError) {
    console.log(`  ${what} failed: ${error.code}: ${error.message}`);
  } else {
    throw error;
  }
}

function minhashIntegration(): void {
  console.log('MinHash-LSH with an interrupt');
  using index = new MinHashLSHIndex();
  const data = signatures(2000, 1);
  using interrupt = new Interrupt();

  try {
    index.buildWithInterrupt(data, 64, 1, 10, false, interrupt);
    console.log('  Build successful');
  } catch (error) {
    describeFailure('Build', error);
  }

  const query = data.subarray(64 * 7, 64 * 8);
  try {
    const { ids } = index.searchWithInterrupt(query, 10, null, interrupt);
    const found = ids.filter((id) => id >= 0n).length; // unused slots hold -1
    console.log(`  Found ${found} results, the best is row ${ids[0]}`);
  } catch (error) {
    describeFailure('Search', error);
  }

  const queries = data.subarray(0, 100 * 64);
  interrupt.interrupt(); // cancelled before it starts
  try {
    index.batchSearchWithInterrupt(queries, 100, 10, null, interrupt);
    console.log('  Batch search complete');
  } catch (error) {
    describeFailure('Batch search', error);
  }
  interrupt.reset();
}

/** A native build on a libuv pool thread, cancelled by a timer on the main
 * thread; the index keeps what it had. */
async function asyncBuildCancelled(): Promise<void> {
  console.log('An async build cancelled from the main thread');
  using index = new MinHashLSHIndex();
  index.build(signatures(1000, 2), 64, 1, 8, true);
  const big = signatures(400_000, 3);
  using interrupt = new Interrupt();
  const timer = setTimeout(() => interrupt.interrupt(), 10);
  const started = performance.now();
  try {
    await index.buildAsync(big, 64, 1, 8, false, { interrupt });
    console.log(`  the build finished first (${(performance.now() - started).toFixed(0)} ms)`);
  } catch (error) {
    if (!(error instanceof InterruptedError)) throw error;
    console.log(`  ${error.name} after ${(performance.now() - started).toFixed(0)} ms: ${error.message}`);
  } finally {
    clearTimeout(timer);
  }
  console.log(`  the index still holds ${index.count} signatures`);
}

if (isMainThread) {
  apiReference();
  checkInterruptMacro();
  await workerThread();
  minhashIntegration();
  await asyncBuildCancelled();
} else {
  workerMain();
}
