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

import { asyncMethodNames, cases } from './fixtures/async-buffers.ts';

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
});
