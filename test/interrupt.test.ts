/**
 * The spec's Interrupt API, one to one, through the binding; plus AbortSignal
 * links and sharing with a real worker_threads Worker.
 * Every title contains "interrupt" so `mocha --grep interrupt` selects them.
 */
import { once } from 'node:events';

import { expect } from 'chai';

import {
  Interrupt, InterruptedError, KnowhereError, Status, checkInterrupt, type SharedInterruptToken,
} from '../ts/index.ts';
import type { WorkerReport } from './fixtures/interrupt-worker.ts';
import { startTsWorker } from './fixtures/workers.ts';

/** Runs `fn` and returns what it threw (failing if it did not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail('expected an exception');
}

describe('interrupt: Interrupt basics (spec Rust API)', () => {
  it('new Interrupt() starts not interrupted', () => {
    using interrupt = new Interrupt();
    expect(interrupt.isInterrupted()).to.equal(false);
  });

  it('Interrupt.withState(true) starts interrupted and withState(false) does not', () => {
    using set = Interrupt.withState(true);
    using clear = Interrupt.withState(false);
    expect(set.isInterrupted()).to.equal(true);
    expect(clear.isInterrupted()).to.equal(false);
  });

  it('interrupt() sets the flag and reset() clears it', () => {
    using interrupt = new Interrupt();
    interrupt.interrupt();
    expect(interrupt.isInterrupted()).to.equal(true);
    interrupt.interrupt(); // setting twice is fine
    expect(interrupt.isInterrupted()).to.equal(true);
    interrupt.reset();
    expect(interrupt.isInterrupted()).to.equal(false);
  });

  it('testAndSet() returns the previous interrupt state and leaves the flag set', () => {
    using interrupt = new Interrupt();
    expect(interrupt.testAndSet()).to.equal(false);
    expect(interrupt.isInterrupted()).to.equal(true);
    expect(interrupt.testAndSet()).to.equal(true);
    expect(interrupt.isInterrupted()).to.equal(true);
    interrupt.reset();
    expect(interrupt.testAndSet()).to.equal(false);
  });

  it('clone() shares the interrupt flag in both directions', () => {
    using original = new Interrupt();
    using clone = original.clone();
    expect(clone).to.not.equal(original);
    original.interrupt();
    expect(clone.isInterrupted()).to.equal(true);
    clone.reset();
    expect(original.isInterrupted()).to.equal(false);
    clone.interrupt();
    expect(original.isInterrupted()).to.equal(true);
    expect(original.testAndSet()).to.equal(true);
  });

  it('a clone of an interrupt survives closing the original', () => {
    const original = new Interrupt();
    using clone = original.clone();
    original.close();
    expect(clone.isInterrupted()).to.equal(false);
    clone.interrupt();
    expect(clone.isInterrupted()).to.equal(true);
    using second = clone.clone();
    expect(second.isInterrupted()).to.equal(true);
  });

  it('interrupt close() is idempotent and reported by `closed`', () => {
    const interrupt = new Interrupt();
    expect(interrupt.closed).to.equal(false);
    interrupt.close();
    interrupt.close();
    expect(interrupt.closed).to.equal(true);
  });

  it('use of an interrupt after close throws KnowhereError INVALID_ARG, never crashes', () => {
    const interrupt = new Interrupt();
    interrupt.close();
    const calls: Array<() => unknown> = [
      () => interrupt.isInterrupted(), () => interrupt.interrupt(), () => interrupt.reset(),
      () => interrupt.testAndSet(), () => interrupt.clone(), () => interrupt.share(),
      () => checkInterrupt(interrupt),
    ];
    for (const call of calls) {
      const error = thrown(call);
      expect(error).to.be.instanceOf(KnowhereError);
      expect(error).to.not.be.instanceOf(InterruptedError);
      expect((error as KnowhereError).status).to.equal(Status.INVALID_ARG);
      expect((error as KnowhereError).code).to.equal('ERR_INVALID_ARG');
      expect((error as KnowhereError).message).to.match(/Interrupt is closed/);
    }
  });

  it('`using` disposes the interrupt at the end of the block', () => {
    let escaped: Interrupt | undefined;
    {
      using interrupt = new Interrupt();
      escaped = interrupt;
      expect(interrupt.closed).to.equal(false);
    }
    expect(escaped.closed).to.equal(true);
    const direct = new Interrupt();
    direct[Symbol.dispose]();
    expect(direct.closed).to.equal(true);
  });
});

describe('interrupt: checkInterrupt (the spec check_interrupt! macro)', () => {
  it('checkInterrupt does nothing while the interrupt flag is clear', () => {
    using interrupt = new Interrupt();
    expect(() => checkInterrupt(interrupt)).to.not.throw();
    expect(() => checkInterrupt(interrupt, 'custom')).to.not.throw();
    expect(() => checkInterrupt(null)).to.not.throw();
  });

  it('checkInterrupt without a message throws InterruptedError "operation interrupted"', () => {
    using interrupt = Interrupt.withState(true);
    const error = thrown(() => checkInterrupt(interrupt));
    expect(error).to.be.instanceOf(InterruptedError);
    expect(error).to.be.instanceOf(KnowhereError);
    expect(error).to.be.instanceOf(Error);
    const interrupted = error as InterruptedError;
    expect(interrupted.message).to.equal('operation interrupted');
    expect(interrupted.name).to.equal('InterruptedError');
    expect(interrupted.status).to.equal(Status.INTERRUPTED);
    expect(interrupted.status).to.equal(100);
    expect(interrupted.code).to.equal('ERR_INTERRUPTED');
    expect(interrupted.isInterrupted()).to.equal(true);
    expect(interrupted.cause).to.equal(undefined);
  });

  it('checkInterrupt with a message throws InterruptedError with exactly that message', () => {
    using interrupt = Interrupt.withState(true);
    const error = thrown(() => checkInterrupt(interrupt, 'Operation was cancelled by user'));
    expect(error).to.be.instanceOf(InterruptedError);
    expect((error as InterruptedError).message).to.equal('Operation was cancelled by user');
    expect((error as InterruptedError).status).to.equal(Status.INTERRUPTED);
    expect((error as InterruptedError).isInterrupted()).to.equal(true);
  });

  it('checkInterrupt sees a flag set through a clone of the interrupt', () => {
    using interrupt = new Interrupt();
    using clone = interrupt.clone();
    clone.interrupt();
    expect(() => checkInterrupt(interrupt, 'via clone')).to.throw(InterruptedError, 'via clone');
  });

  it('a loop stops at the first checkInterrupt after the interrupt is set (spec example)', () => {
    using interrupt = new Interrupt();
    let reached = -1;
    const error = thrown(() => {
      for (let i = 0; i < 1000; i++) {
        reached = i;
        if (i === 417) interrupt.interrupt();
        checkInterrupt(interrupt);
      }
    });
    expect(error).to.be.instanceOf(InterruptedError);
    expect(reached).to.equal(417);
  });
});

describe('interrupt: Interrupt.fromSignal', () => {
  it('fromSignal with an already aborted signal gives a set interrupt', () => {
    using interrupt = Interrupt.fromSignal(AbortSignal.abort());
    expect(interrupt.isInterrupted()).to.equal(true);
  });

  it('fromSignal sets the interrupt when the signal aborts later', () => {
    const controller = new AbortController();
    using interrupt = Interrupt.fromSignal(controller.signal);
    using clone = interrupt.clone();
    expect(interrupt.isInterrupted()).to.equal(false);
    controller.abort();
    expect(interrupt.isInterrupted()).to.equal(true);
    expect(clone.isInterrupted()).to.equal(true);
  });

  it('fromSignal sets the interrupt on a timeout signal', async () => {
    using interrupt = Interrupt.fromSignal(AbortSignal.timeout(20));
    expect(interrupt.isInterrupted()).to.equal(false);
    const deadline = Date.now() + 5000;
    while (!interrupt.isInterrupted() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(interrupt.isInterrupted()).to.equal(true);
  });

  it('closing a fromSignal interrupt removes its listener, so a later abort is harmless', () => {
    const controller = new AbortController();
    const interrupt = Interrupt.fromSignal(controller.signal);
    using clone = interrupt.clone();
    interrupt.close();
    expect(() => controller.abort()).to.not.throw();
    // The listener was removed: the shared flag was not set through it.
    expect(clone.isInterrupted()).to.equal(false);
  });

  it('fromSignal rejects a non-signal with KnowhereError (interrupt factory)', () => {
    const error = thrown(() => Interrupt.fromSignal({} as AbortSignal));
    expect(error).to.be.instanceOf(KnowhereError);
    expect((error as KnowhereError).status).to.equal(Status.INVALID_ARG);
  });
});

describe('interrupt: sharing with worker threads (share / fromShared)', () => {
  it('share() gives a structured-cloneable token that fromShared adopts onto the same interrupt flag', () => {
    using interrupt = new Interrupt();
    const token = interrupt.share();
    expect(typeof token.handle).to.equal('bigint');
    expect(token.claimed).to.be.instanceOf(Int32Array);
    expect(token.claimed.buffer).to.be.instanceOf(SharedArrayBuffer);
    const copy = structuredClone(token);
    // The copy shares the claim word, as a postMessage'd token would.
    using adopted = Interrupt.fromShared(copy);
    expect(Atomics.load(token.claimed, 0)).to.equal(1);
    adopted.interrupt();
    expect(interrupt.isInterrupted()).to.equal(true);
    interrupt.reset();
    expect(adopted.isInterrupted()).to.equal(false);
  });

  it('adopting an interrupt share token twice throws KnowhereError', () => {
    using interrupt = new Interrupt();
    const token = interrupt.share();
    using first = Interrupt.fromShared(token);
    expect(first.isInterrupted()).to.equal(false);
    const error = thrown(() => Interrupt.fromShared(token));
    expect(error).to.be.instanceOf(KnowhereError);
    expect((error as KnowhereError).status).to.equal(Status.INVALID_ARG);
    expect((error as KnowhereError).message).to.match(/already adopted/);
    expect(() => Interrupt.fromShared(structuredClone(token))).to.throw(KnowhereError, /already adopted/);
  });

  it('an interrupt share token can be released once, then not adopted', () => {
    using interrupt = new Interrupt();
    const token = interrupt.share();
    expect(Interrupt.releaseShared(token)).to.equal(true);
    expect(Interrupt.releaseShared(token)).to.equal(false);
    expect(() => Interrupt.fromShared(token)).to.throw(KnowhereError, /already adopted or released/);
  });

  it('fromShared rejects something that is not an interrupt share token', () => {
    const bogus = { handle: 1n, claimed: new Int32Array(1) } as SharedInterruptToken;
    expect(() => Interrupt.fromShared(bogus)).to.throw(KnowhereError, /share token/);
  });

  it('a Worker polling a shared interrupt stops when the main thread calls interrupt()', async function () {
    this.timeout(30_000);
    using interrupt = new Interrupt();
    const token = interrupt.share();
    const maxMs = 15_000;
    const worker = startTsWorker(new URL('./fixtures/interrupt-worker.ts', import.meta.url), { token, maxMs });
    try {
      const [ready] = (await once(worker, 'message')) as [{ type: string }];
      expect(ready.type).to.equal('ready');
      // The worker adopted the token: this thread cannot adopt it again.
      expect(() => Interrupt.fromShared(token)).to.throw(KnowhereError, /already adopted/);
      // Let it spin for a while, then cancel it from this thread.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const done = once(worker, 'message');
      interrupt.interrupt();
      const [report] = (await done) as [WorkerReport];
      expect(report.type).to.equal('done');
      expect(report.sawFlag, 'the worker stopped because it saw the interrupt flag').to.equal(true);
      expect(report.elapsedMs).to.be.below(maxMs);
      expect(report.iterations).to.be.above(0);
      const [exitCode] = (await once(worker, 'exit')) as [number];
      expect(exitCode).to.equal(0);
    } finally {
      await worker.terminate();
    }
  });
});
