/**
 * Async calls read only memory the binding owns: the caller detaching its
 * ArrayBuffers (transfer) or shrinking resizable ones while every async
 * method runs neither crashes the process nor changes the answers
 * (test/fixtures/async-buffers.ts; in a child process, so that a SIGSEGV
 * fails this test instead of killing mocha).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { expect } from 'chai';

import { MinHashLSHIndex } from '../ts/index.ts';
import { asyncMethodNames, cases } from './fixtures/async-buffers.ts';
import { clusteredSignatures } from './fixtures/helpers.ts';

describe('async calls and the caller\'s buffers', () => {
  it('every async method of the public API has a case in the attack table, and no case is stale', () => {
    const methods = asyncMethodNames();
    expect(methods.length, 'reflection finds the async methods').to.be.at.least(13);
    expect(methods.filter((name) => !(name in cases)), 'async methods without a case').to.deep.equal([]);
    expect(Object.keys(cases).filter((name) => !methods.includes(name)), 'cases of no method').to.deep.equal([]);
  });

  it('detaching or shrinking them during every async method: no crash, the sync answers', function () {
    this.timeout(240_000);
    const script = fileURLToPath(new URL('./fixtures/async-buffers-run.ts', import.meta.url));
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', tsx, script], {
      encoding: 'utf8', timeout: 230_000, env: { ...process.env, ASYNC_BUFFERS_ROUNDS: '2' },
    });
    expect(child.signal, `${child.stdout}\n${child.stderr}`).to.equal(null);
    expect(child.status, `${child.stdout}\n${child.stderr}`).to.equal(0);
    const summary = JSON.parse(child.stdout.trim().split('\n').pop()!) as { runs: number; failures: string[] };
    expect(summary.failures).to.deep.equal([]);
    expect(summary.runs).to.equal(Object.keys(cases).length * 2 * 2);
  });

  it('copies reuse pooled memory only once the call has returned: 40 concurrent batches, each its own answers', async () => {
    const shape = { length: 32, elementSize: 4, bands: 8 };
    const size = shape.length * shape.elementSize;
    const data = clusteredSignatures(3000, shape, 40, 0.3, 11);
    using index = new MinHashLSHIndex();
    index.build(data, shape.length, shape.elementSize, shape.bands, true);
    for (let round = 0; round < 3; round++) {
      // 1000 queries (128 KB: a pooled size) per call, different in each call.
      const batches = Array.from({ length: 40 }, (_, b) =>
        clusteredSignatures(1000, shape, 40, 0.3, 100 * round + b).subarray(0, 1000 * size));
      const results = await Promise.all(batches.map((queries) => index.batchSearchAsync(queries, 1000, 3)));
      results.forEach((result, b) => {
        const expected = index.batchSearch(batches[b]!, 1000, 3);
        expect([...result.ids], `round ${round}, batch ${b}`).to.deep.equal([...expected.ids]);
      });
    }
  });
});
