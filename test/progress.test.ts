/**
 * onProgress of the long async methods: delivered on the main thread by
 * polling the call's interrupt handle, monotonic, in the right phase, ending
 * with done === total on success; a throwing onProgress cancels the call and
 * becomes its rejection. (Save and load progress: test/save-load.test.ts.)
 */
import { isMainThread } from 'node:worker_threads';

import { expect } from 'chai';

import {
  Interrupt, InterruptedError, MinHashLSHIndex, Status, type Progress, type ProgressPhase,
} from '../ts/index.ts';
import {
  bigCount, bigShape, bigSignatures, countTicksDuring, expectKnowhereError, expectUnchanged, rejection, sleep,
  smallData, smallIndex,
} from './fixtures/helpers.ts';

/** Records the reports of one call, and whether each came while the call
 * was still running. */
function recorder(): { reports: Progress[]; during: boolean[]; onProgress: (p: Progress) => void;
  settle: () => void } {
  const reports: Progress[] = [];
  const during: boolean[] = [];
  let settled = false;
  return {
    reports,
    during,
    onProgress: (p) => {
      expect(isMainThread).to.equal(true);
      reports.push({ ...p });
      during.push(!settled);
    },
    settle: () => { settled = true; },
  };
}

/** Strictly increasing done, one phase, one total, the last report is
 * done === total and the only one that is; at least one report made while
 * the work was running (done < total). */
function expectCompleteProgress(reports: readonly Progress[], phase: ProgressPhase, total?: number): void {
  expect(reports.length, JSON.stringify(reports)).to.be.at.least(2);
  const last = reports[reports.length - 1]!;
  expect(last.done).to.equal(last.total);
  expect(last.total).to.be.above(0);
  if (total !== undefined) expect(last.total).to.equal(total);
  reports.forEach((report, i) => {
    expect(report.phase, `report ${i}`).to.equal(phase);
    expect(report.total, `report ${i}`).to.equal(last.total);
    expect(Number.isSafeInteger(report.done) && report.done >= 0, `report ${i}`).to.equal(true);
    if (i > 0) expect(report.done, `report ${i} after ${reports[i - 1]!.done}`).to.be.above(reports[i - 1]!.done);
    if (i < reports.length - 1) expect(report.done, `report ${i}`).to.be.below(report.total);
  });
}

describe('MinHashLSHIndex: progress', function () {
  this.timeout(120_000);
  let big: Uint32Array;
  before(() => { big = bigSignatures(); });
  after(() => { big = new Uint32Array(0); });

  /** A build slow enough for several polls: raw data, 32 bands, one thread. */
  async function slowBuild(index: MinHashLSHIndex, onProgress: (p: Progress) => void,
                           extra: { interrupt?: Interrupt } = {}): Promise<void> {
    index.numThreads = 1;
    await index.buildAsync(big, bigShape.length, bigShape.elementSize, 32, true, { onProgress, ...extra });
  }

  it('an async build reports monotonic progress in phase "build", ending with done === total', async () => {
    using index = new MinHashLSHIndex();
    const record = recorder();
    await slowBuild(index, record.onProgress);
    record.settle();
    expectCompleteProgress(record.reports, 'build');
    expect(record.during.every((d) => d), 'every report came before the promise settled').to.equal(true);
    expect(index.count).to.equal(bigCount);
  });

  it('an async add reports phase "add" and ends with done === total', async () => {
    using index = new MinHashLSHIndex();
    index.build(big.subarray(0, 1000 * bigShape.length), bigShape.length, bigShape.elementSize, 32, true);
    index.numThreads = 1;
    const record = recorder();
    await index.addAsync(big.subarray(1000 * bigShape.length), { onProgress: record.onProgress });
    expectCompleteProgress(record.reports, 'add');
    expect(index.count).to.equal(bigCount);
  });

  it('an async batch search reports phase "search" with total = nq, and its results are complete', async () => {
    using index = new MinHashLSHIndex();
    index.build(big, bigShape.length, bigShape.elementSize, bigShape.bands, false);
    index.numThreads = 1; // several polls on any number of cores
    const record = recorder();
    const nq = bigCount;
    const result = await index.batchSearchAsync(big, nq, 3, { onProgress: record.onProgress });
    expectCompleteProgress(record.reports, 'search', nq);
    for (const q of [0, 1, 150_000, nq - 1]) expect(result.row(q).ids[0], `row ${q}`).to.equal(BigInt(q));
  });

  it('a batch of one query (which the library does not count) still gets the final report 1 of 1', async () => {
    const { index } = smallIndex();
    using _ = index;
    const reports: Progress[] = [];
    await index.batchSearchAsync(smallData.subarray(0, 64), 1, 3, { onProgress: (p) => reports.push(p) });
    expect(reports).to.deep.equal([{ done: 1, total: 1, phase: 'search' }]);
  });

  it('an Interrupt reused after a cancelled build reports the next build from its start, monotonic', async () => {
    using index = new MinHashLSHIndex();
    using cancel = new Interrupt();
    // The first build is stopped part way: the flag keeps its counters.
    const stop = new Error('enough');
    expect(await rejection(slowBuild(index, () => { throw stop; }, { interrupt: cancel }))).to.equal(stop);
    expect(cancel.isInterrupted()).to.equal(true);
    cancel.reset();
    const record = recorder();
    await slowBuild(index, record.onProgress, { interrupt: cancel });
    expectCompleteProgress(record.reports, 'build');
    expect(index.count).to.equal(bigCount);
  });

  it('an onProgress that throws rejects the call with that error, stops the build, and leaves the index unchanged',
    async () => {
      const { index, answers } = smallIndex();
      using _ = index;
      index.numThreads = 1;
      const failure = new Error('progress handler failed');
      const reports: Progress[] = [];
      const started = performance.now();
      const error = await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize, 32, true, {
        onProgress: (p) => {
          reports.push(p);
          throw failure;
        },
      }));
      expect(error).to.equal(failure);
      expect(reports.length, 'called once, then never again').to.equal(1);
      expect(reports[0]!.done).to.be.below(reports[0]!.total);
      expect(performance.now() - started).to.be.below(2000);
      expectUnchanged(index, answers);
      // Nothing is left in flight: the index can be rebuilt and closed.
      index.numThreads = 0;
      index.build(smallData, 16, 4, 4, true);
      expectUnchanged(index, answers);
    });

  it('an async onProgress that rejects is handled like one that throws (no unhandled rejection)', async () => {
    using index = new MinHashLSHIndex();
    index.build(big, bigShape.length, bigShape.elementSize, bigShape.bands, false);
    index.numThreads = 1;
    const failure = new Error('async handler failed');
    let unhandled: unknown = null;
    const onUnhandled = (reason: unknown): void => { unhandled = reason; };
    process.on('unhandledRejection', onUnhandled);
    try {
      const error = await rejection(index.batchSearchAsync(big, bigCount, 3, {
        onProgress: async () => {
          await Promise.resolve();
          throw failure;
        },
      }));
      expect(error).to.equal(failure);
      await sleep(10);
      expect(unhandled).to.equal(null);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(index.count).to.equal(bigCount);
  });

  it('a throwing onProgress on a search with a caller\'s Interrupt sets that Interrupt (documented)', async () => {
    using index = new MinHashLSHIndex();
    index.build(big, bigShape.length, bigShape.elementSize, bigShape.bands, false);
    index.numThreads = 1;
    using cancel = new Interrupt();
    const failure = new RangeError('stop here');
    const error = await rejection(index.batchSearchAsync(big, bigCount, 3, {
      interrupt: cancel,
      onProgress: () => { throw failure; },
    }));
    expect(error).to.equal(failure);
    expect(cancel.isInterrupted()).to.equal(true);
  });

  it('an onProgress that throws on the final report rejects although the build took effect', async () => {
    using index = new MinHashLSHIndex();
    const failure = new Error('final report failed');
    const error = await rejection(index.buildAsync(smallData, 16, 4, 4, true, {
      onProgress: (p) => { if (p.done === p.total) throw failure; },
    }));
    expect(error).to.equal(failure);
    expect(index.count).to.equal(300);
  });

  it('onProgress may use the index in its final report (the call is no longer in flight)', async () => {
    using index = new MinHashLSHIndex();
    let countAtEnd = -1;
    await index.buildAsync(smallData, 16, 4, 4, true, {
      onProgress: (p) => { if (p.done === p.total) countAtEnd = index.search(smallData.subarray(0, 64), 1).ids.length; },
    });
    expect(countAtEnd).to.equal(1);
  });

  it('an abort during a build with onProgress rejects with InterruptedError and stops the reports', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    index.numThreads = 1;
    const controller = new AbortController();
    const reports: Progress[] = [];
    const error = await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize, 32, true, {
      signal: controller.signal,
      onProgress: (p) => {
        reports.push(p);
        controller.abort();
      },
    }));
    expect(error).to.be.instanceOf(InterruptedError);
    expect(reports.length).to.equal(1);
    await sleep(60);
    expect(reports.length, 'no report after the rejection').to.equal(1);
    expectUnchanged(index, answers);
  });

  it('a build polling progress does not block the event loop', async () => {
    using index = new MinHashLSHIndex();
    const record = recorder();
    const { immediates, timers, elapsed } = await countTicksDuring(() => slowBuild(index, record.onProgress));
    expect(immediates, `${immediates} ticks in ${elapsed.toFixed(0)} ms`).to.be.above(20);
    expect(timers).to.be.above(Math.min(5, elapsed / 20));
    expectCompleteProgress(record.reports, 'build');
  });

  it('onProgress must be a function (null and undefined mean none)', async () => {
    using index = new MinHashLSHIndex();
    expectKnowhereError(await rejection(index.buildAsync(smallData, 16, 4, 4, true,
      { onProgress: 42 as unknown as () => void })), Status.INVALID_ARG, /onProgress/);
    expect(index.count).to.equal(0);
    // null and undefined mean none.
    await index.buildAsync(smallData, 16, 4, 4, true, { onProgress: null });
    await index.addAsync(smallData, { onProgress: undefined });
    expect(index.count).to.equal(600);
  });
});
