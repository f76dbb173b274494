/**
 * Deadlines: Interrupt.withTimeout / setDeadline / remainingMs against the
 * header's contract (a passed deadline reads as TIMEOUT, an earlier explicit
 * interrupt() stays INTERRUPTED, clones share the deadline, reset() does
 * not clear it), the TimeoutError class, and AbortSignal.timeout() on the
 * index's async methods.
 *
 * Suites about the Interrupt itself have "interrupt" in every title (so
 * `mocha --grep interrupt` selects them); the index suite has it in none.
 */
import { expect } from 'chai';

import {
  Interrupt, InterruptedError, KnowhereError, MinHashLSHIndex, Status, TimeoutError, checkInterrupt,
} from '../ts/index.ts';
import { abortedError, errorForStatus, throwIfFailed } from '../ts/errors.ts';
import { native, newErrorOut } from '../ts/native.ts';
import {
  bigCount, bigShape, bigSignatures, expectKnowhereError, expectUnchanged, rejection, rowOf, sleep, small,
  smallData, smallIndex, thrown,
} from './fixtures/helpers.ts';

/** Waits (in small steps, never forever) until `interrupt` is set. */
async function waitUntilSet(interrupt: Interrupt, limitMs: number): Promise<number> {
  const started = performance.now();
  while (!interrupt.isInterrupted()) {
    if (performance.now() - started > limitMs) expect.fail(`the interrupt was not set within ${limitMs} ms`);
    await sleep(2);
  }
  return performance.now() - started;
}

function expectTimeoutError(error: unknown): TimeoutError {
  expect(error, String(error)).to.be.instanceOf(TimeoutError);
  expect(error).to.be.instanceOf(InterruptedError);
  expect(error).to.be.instanceOf(KnowhereError);
  const timeout = error as TimeoutError;
  expect(timeout.name).to.equal('TimeoutError');
  expect(timeout.status).to.equal(Status.TIMEOUT);
  expect(timeout.status).to.equal(26);
  expect(timeout.code).to.equal('ERR_TIMEOUT');
  expect(timeout.isTimeout()).to.equal(true);
  expect(timeout.isInterrupted()).to.equal(true);
  return timeout;
}

function expectPlainInterruptedError(error: unknown): InterruptedError {
  expect(error, String(error)).to.be.instanceOf(InterruptedError);
  expect(error).to.not.be.instanceOf(TimeoutError);
  const interrupted = error as InterruptedError;
  expect(interrupted.status).to.equal(Status.INTERRUPTED);
  expect(interrupted.isTimeout()).to.equal(false);
  expect(interrupted.isInterrupted()).to.equal(true);
  return interrupted;
}

describe('interrupt: deadlines (withTimeout, setDeadline, remainingMs)', () => {
  it('Interrupt.withTimeout fires after its time: the interrupt is set and checkInterrupt throws TimeoutError',
    async () => {
      // Long enough that a loaded machine still checks it before it fires.
      const created = performance.now();
      using interrupt = Interrupt.withTimeout(150);
      expect(interrupt.isInterrupted()).to.equal(false);
      expect(() => checkInterrupt(interrupt)).to.not.throw();
      const remaining = interrupt.remainingMs;
      expect(remaining).to.be.above(0);
      expect(remaining).to.be.at.most(150);
      await waitUntilSet(interrupt, 5000);
      // Not before the deadline (the monotonic clock and timers may differ
      // by a millisecond).
      expect(performance.now() - created).to.be.at.least(145);
      expect(interrupt.remainingMs).to.equal(0);
      const error = expectTimeoutError(thrown(() => checkInterrupt(interrupt)));
      expect(error.message).to.equal('operation timed out');
      expect(error.cause).to.equal(undefined);
      // A message given to checkInterrupt is used for a timeout too.
      expect(expectTimeoutError(thrown(() => checkInterrupt(interrupt, 'too slow'))).message).to.equal('too slow');
    });

  it('an explicit interrupt() before the deadline stays InterruptedError after the deadline passes', async () => {
    using interrupt = Interrupt.withTimeout(100);
    interrupt.interrupt();
    expectPlainInterruptedError(thrown(() => checkInterrupt(interrupt)));
    await sleep(120);
    expect(interrupt.remainingMs).to.equal(0);
    expect(interrupt.isInterrupted()).to.equal(true);
    expectPlainInterruptedError(thrown(() => checkInterrupt(interrupt)));
    expect(interrupt.testAndSet()).to.equal(true);
  });

  it('setDeadline on an interrupt is seen by its clones, and by interrupts cloned before it was set', async () => {
    using interrupt = new Interrupt();
    using earlierClone = interrupt.clone();
    expect(interrupt.remainingMs).to.equal(Infinity);
    interrupt.setDeadline(150);
    using laterClone = interrupt.clone();
    for (const handle of [interrupt, earlierClone, laterClone]) {
      expect(handle.remainingMs).to.be.within(1, 150);
    }
    await waitUntilSet(earlierClone, 5000);
    expect(interrupt.isInterrupted()).to.equal(true);
    expectTimeoutError(thrown(() => checkInterrupt(laterClone)));
  });

  it('setDeadline(0) clears an interrupt deadline: remainingMs is Infinity and it never fires', async () => {
    using interrupt = Interrupt.withTimeout(20);
    expect(interrupt.remainingMs).to.be.below(Infinity);
    interrupt.setDeadline(0);
    expect(interrupt.remainingMs).to.equal(Infinity);
    await sleep(40);
    expect(interrupt.isInterrupted()).to.equal(false);
    // Infinity is "no deadline" too; a later deadline replaces an earlier one.
    interrupt.setDeadline(10);
    interrupt.setDeadline(Infinity);
    await sleep(25);
    expect(interrupt.isInterrupted()).to.equal(false);
    interrupt.setDeadline(60_000);
    interrupt.setDeadline(5);
    await waitUntilSet(interrupt, 5000);
  });

  it('a new interrupt has no deadline, and withTimeout(0) means none (as in C)', async () => {
    using plain = new Interrupt();
    using zero = Interrupt.withTimeout(0);
    using state = Interrupt.withState(false);
    for (const interrupt of [plain, zero, state]) expect(interrupt.remainingMs).to.equal(Infinity);
    await sleep(10);
    expect(zero.isInterrupted()).to.equal(false);
  });

  it('reset() does not clear a passed interrupt deadline; moving the deadline makes the flag reusable',
    async () => {
      using interrupt = Interrupt.withTimeout(5);
      await waitUntilSet(interrupt, 5000);
      interrupt.reset();
      // The deadline has passed: the next check sets the flag again.
      expect(interrupt.isInterrupted()).to.equal(true);
      expectTimeoutError(thrown(() => checkInterrupt(interrupt)));
      interrupt.setDeadline(0);
      interrupt.reset();
      expect(interrupt.isInterrupted()).to.equal(false);
      expect(() => checkInterrupt(interrupt)).to.not.throw();
    });

  it('fractions of a millisecond round up: withTimeout(0.2) is an interrupt that fires', async () => {
    using interrupt = Interrupt.withTimeout(0.2);
    expect(interrupt.remainingMs).to.be.at.most(1);
    await waitUntilSet(interrupt, 5000);
    expectTimeoutError(thrown(() => checkInterrupt(interrupt)));
  });

  it('bad interrupt deadlines are KnowhereError INVALID_ARG; a closed interrupt refuses deadline calls', () => {
    for (const bad of [-1, NaN, -Infinity, '10', null, undefined, 10n]) {
      expectKnowhereError(thrown(() => Interrupt.withTimeout(bad as number)), Status.INVALID_ARG, /ms/);
      using interrupt = new Interrupt();
      expectKnowhereError(thrown(() => interrupt.setDeadline(bad as number)), Status.INVALID_ARG, /ms/);
    }
    const closed = Interrupt.withTimeout(1000);
    closed.close();
    expectKnowhereError(thrown(() => closed.setDeadline(10)), Status.INVALID_ARG, /closed/);
    expectKnowhereError(thrown(() => closed.remainingMs), Status.INVALID_ARG, /closed/);
  });
});

describe('errors: TimeoutError', () => {
  it('TimeoutError is an InterruptedError with status TIMEOUT; isTimeout() is true only for timeouts', () => {
    const reason = new Error('why');
    const error = new TimeoutError('too slow', { cause: reason });
    expectTimeoutError(error);
    expect(error.message).to.equal('too slow');
    expect(error.cause).to.equal(reason);
    expect(new TimeoutError().message).to.equal('operation timed out');
    for (const status of Object.values(Status)) {
      expect(new KnowhereError(status, 'x').isTimeout(), `status ${status}`).to.equal(status === Status.TIMEOUT);
    }
    expect(new InterruptedError().isTimeout()).to.equal(false);
    expect(errorForStatus(Status.TIMEOUT, 'm')).to.be.instanceOf(TimeoutError);
    expect(errorForStatus(Status.INTERRUPTED, 'm')).to.not.be.instanceOf(TimeoutError);
    expect(errorForStatus(Status.BUSY, 'm').isTimeout()).to.equal(false);
  });

  it('a cancellation caused by a timed-out AbortSignal becomes TimeoutError with the reason as cause', () => {
    const timedOut = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const aborted = new DOMException('This operation was aborted', 'AbortError');
    const err = newErrorOut();
    native.errorSet(err, Status.INTERRUPTED, 'build interrupted');
    const error = expectTimeoutError(thrown(() => throwIfFailed(Status.INTERRUPTED, err, { interruptCause: timedOut })));
    expect(error.cause).to.equal(timedOut);
    expect(error.message).to.match(/^build interrupted/);
    const plain = expectPlainInterruptedError(thrown(() =>
      throwIfFailed(Status.INTERRUPTED, newErrorOut(), { interruptCause: aborted })));
    expect(plain.cause).to.equal(aborted);
    // A deadline of the Interrupt stays a timeout whatever the signal said.
    expectTimeoutError(thrown(() => throwIfFailed(Status.TIMEOUT, newErrorOut(), { interruptCause: aborted })));
    // And for a signal aborted before the call.
    expect(expectTimeoutError(abortedError(timedOut)).cause).to.equal(timedOut);
    expect(expectPlainInterruptedError(abortedError('just stop')).cause).to.equal('just stop');
  });
});

describe('interrupt: a deadline on the Interrupt passed to index calls', function () {
  this.timeout(120_000);
  let big: Uint32Array;
  before(() => { big = bigSignatures(); });
  after(() => { big = new Uint32Array(0); });

  it('an interrupt whose deadline passes during an async build rejects it with TimeoutError', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    using deadline = Interrupt.withTimeout(15);
    const started = performance.now();
    const error = expectTimeoutError(await rejection(index.buildAsync(big, bigShape.length, bigShape.elementSize,
      bigShape.bands, true, { interrupt: deadline })));
    expect(performance.now() - started, 'it stopped soon after the deadline').to.be.below(1000);
    expect(error.message).to.match(/timed out/);
    expect(error.cause).to.equal(undefined);
    expect(deadline.isInterrupted()).to.equal(true);
    expectUnchanged(index, answers);
  });

  it('a sync call with a timed-out interrupt throws TimeoutError; one interrupted first throws InterruptedError',
    async () => {
      const { index, answers } = smallIndex();
      using _ = index;
      using deadline = Interrupt.withTimeout(1);
      await waitUntilSet(deadline, 5000);
      expectTimeoutError(thrown(() => index.buildWithInterrupt(smallData, 16, 4, 4, false, deadline)));
      expectTimeoutError(thrown(() => index.searchWithInterrupt(rowOf(smallData, small, 0), 3, null, deadline)));
      expectTimeoutError(await rejection(index.batchSearchAsync(smallData, 300, 3, { interrupt: deadline })));
      using early = Interrupt.withTimeout(50);
      early.interrupt();
      await sleep(70);
      expectPlainInterruptedError(thrown(() => index.addWithInterrupt(smallData, early)));
      expectUnchanged(index, answers);
    });
});

describe('MinHashLSHIndex: AbortSignal.timeout', function () {
  this.timeout(120_000);
  let big: Uint32Array;
  before(() => { big = bigSignatures(); });
  after(() => { big = new Uint32Array(0); });

  it('AbortSignal.timeout on a long async build rejects with TimeoutError and the index answers as before',
    async () => {
      const { index, answers } = smallIndex();
      using _ = index;
      const signal = AbortSignal.timeout(15);
      const started = performance.now();
      const error = expectTimeoutError(await rejection(index.buildAsync(big, bigShape.length,
        bigShape.elementSize, bigShape.bands, true, { signal })));
      expect(signal.aborted, 'the build ended before the signal fired: make the data bigger').to.equal(true);
      expect(performance.now() - started, 'the build stopped soon after the timeout').to.be.below(1000);
      expect(error.cause).to.be.instanceOf(DOMException);
      expect((error.cause as DOMException).name).to.equal('TimeoutError');
      expect(error.cause).to.equal(signal.reason);
      expect(error.message).to.match(/timed out/);
      expectUnchanged(index, answers);
    });

  it('a plain controller.abort() still rejects with InterruptedError, not TimeoutError', async () => {
    const { index, answers } = smallIndex();
    using _ = index;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 15);
    const error = expectPlainInterruptedError(await rejection(index.buildAsync(big, bigShape.length,
      bigShape.elementSize, bigShape.bands, false, { signal: controller.signal })));
    expect(error.cause).to.be.instanceOf(DOMException);
    expect((error.cause as DOMException).name).to.equal('AbortError');
    expectUnchanged(index, answers);
  });

  it('AbortSignal.timeout on a long async batch search rejects with TimeoutError', async () => {
    using index = new MinHashLSHIndex();
    index.build(big, bigShape.length, bigShape.elementSize, bigShape.bands, false);
    index.numThreads = 1; // long enough on any number of cores
    const signal = AbortSignal.timeout(10);
    const error = expectTimeoutError(await rejection(index.batchSearchAsync(big, bigCount, 5, { signal })));
    expect(error.cause).to.equal(signal.reason);
    // The index is intact.
    const probe = new Uint8Array(big.buffer, 777 * 512, 512);
    expect(index.search(probe, 1).ids[0]).to.equal(777n);
  });

  it('an AbortSignal that timed out before the call rejects every async method with TimeoutError (cause kept)',
    async () => {
      const { index, answers } = smallIndex();
      using _ = index;
      const signal = AbortSignal.timeout(1);
      while (!signal.aborted) await sleep(2);
      const calls: Array<() => Promise<unknown>> = [
        () => index.buildAsync(smallData, 16, 4, 4, false, { signal }),
        () => index.addAsync(smallData, { signal }),
        () => index.searchAsync(rowOf(smallData, small, 0), 1, { signal }),
        () => index.batchSearchAsync(smallData, 300, 1, { signal }),
        () => index.saveAsync('/nonexistent-dir/never-written.khrs', { signal }),
        () => index.serializeAsync({ signal }),
        () => MinHashLSHIndex.loadAsync('/nonexistent-dir/never-read.khrs', { signal }),
        () => MinHashLSHIndex.deserializeAsync(new Uint8Array(16), { signal }),
      ];
      for (const call of calls) {
        const error = expectTimeoutError(await rejection(call()));
        expect(error.cause).to.equal(signal.reason);
      }
      // With an already aborted plain signal: InterruptedError, same shape.
      const reason = new Error('stop');
      const aborted = AbortSignal.abort(reason);
      for (const call of [() => index.serializeAsync({ signal: aborted }),
        () => MinHashLSHIndex.loadAsync('/nonexistent-dir/never-read.khrs', { signal: aborted })]) {
        expect(expectPlainInterruptedError(await rejection(call())).cause).to.equal(reason);
      }
      expectUnchanged(index, answers);
    });
});
