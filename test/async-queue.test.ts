/**
 * The binding's FIFO queue of async calls: any number may be pending (koffi
 * alone refuses more than 256 per thread, with a foreign Error), at most
 * asyncCallStats().limit run at once, and a queued call whose signal aborts
 * or whose Interrupt is set rejects without ever starting.
 */
import { expect } from 'chai';

import { Interrupt, InterruptedError, MinHashLSHIndex, TimeoutError } from '../ts/index.ts';
import { asyncQueueStats as asyncCallStats } from '../ts/async-queue.ts';
import { clusteredSignatures, rejection } from './fixtures/helpers.ts';

const shape = { length: 16, elementSize: 4, bands: 4 };
const size = shape.length * shape.elementSize;
const n = 400;
const data = clusteredSignatures(n, shape, 20, 0.2, 5);
const query = (q: number): Uint8Array => data.subarray((q % n) * size, (q % n + 1) * size);

describe('async calls: the queue', () => {
  let index: MinHashLSHIndex;
  before(() => {
    index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
  });
  after(() => index.close());

  it('1000 concurrent async calls all succeed, with the answers of the sync calls', async () => {
    const calls = Array.from({ length: 1000 }, (_, q) =>
      q % 10 === 0 ? index.batchSearchAsync(data.subarray(0, 20 * size), 20, 3) : index.searchAsync(query(q), 3));
    const stats = asyncCallStats();
    expect(stats.inFlight).to.be.at.most(stats.limit);
    expect(stats.inFlight + stats.queued).to.equal(1000);
    const results = await Promise.all(calls);
    for (let q = 0; q < 1000; q++) {
      const expected = q % 10 === 0 ? index.batchSearch(data.subarray(0, 20 * size), 20, 3) : index.search(query(q), 3);
      expect([...results[q]!.ids], `call ${q}`).to.deep.equal([...expected.ids]);
    }
    expect(asyncCallStats()).to.deep.include({ inFlight: 0, queued: 0 });
  });

  it('a queued call whose signal aborts rejects at once with InterruptedError and never runs', async () => {
    const before = asyncCallStats().started;
    const controllers = Array.from({ length: 400 }, () => new AbortController());
    const calls = controllers.map((controller, q) => index.searchAsync(query(q), 3, { signal: controller.signal }));
    const { limit } = asyncCallStats();
    const reason = new Error('not needed any more');
    for (const controller of controllers.slice(200)) controller.abort(reason);
    controllers[399 - 1]!.abort(reason); // again: harmless
    const settled = await Promise.allSettled(calls);
    for (let q = 0; q < 400; q++) {
      const outcome = settled[q]!;
      if (q < 200) {
        expect(outcome.status, `call ${q}`).to.equal('fulfilled');
      } else {
        expect(outcome.status, `call ${q}`).to.equal('rejected');
        const error = (outcome as PromiseRejectedResult).reason as InterruptedError;
        expect(error).to.be.instanceOf(InterruptedError);
        expect(error).to.not.be.instanceOf(TimeoutError);
        expect(error.cause).to.equal(reason);
        expect(error.message).to.match(/queued/);
      }
    }
    expect(limit).to.be.below(200);
    expect(asyncCallStats().started - before, 'only the calls not aborted ran').to.equal(200);
  });

  it('a queued call times out (TimeoutError) or is interrupted by its Interrupt without running', async () => {
    const before = asyncCallStats().started;
    const { limit } = asyncCallStats();
    const ahead = Array.from({ length: limit }, () => index.batchSearchAsync(data, n, 5));
    const timeout = new AbortController();
    const timedOut = rejection(index.searchAsync(query(1), 3, { signal: timeout.signal }));
    timeout.abort(new DOMException('late', 'TimeoutError'));
    using interrupt = new Interrupt();
    const interrupted = rejection(index.searchAsync(query(2), 3, { interrupt }));
    using deadline = Interrupt.withTimeout(1);
    const expired = rejection(index.searchAsync(query(3), 3, { interrupt: deadline }));
    interrupt.interrupt();
    // Keep the event loop from handing out slots until the deadline passed.
    for (const until = Date.now() + 5; Date.now() < until;);
    expect(await timedOut).to.be.instanceOf(TimeoutError);
    const stopped = await interrupted;
    expect(stopped).to.be.instanceOf(InterruptedError);
    expect((stopped as Error).message).to.match(/interrupted while queued, before it started/);
    const late = await expired;
    expect(late).to.be.instanceOf(TimeoutError);
    expect((late as Error).message).to.match(/timed out while queued, before it started/);
    await Promise.all(ahead);
    expect(asyncCallStats().started - before, 'only the calls ahead ran').to.equal(limit);
  });
});
