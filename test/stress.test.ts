/**
 * The stress run (test/fixtures/stress.ts) in a child process with
 * --expose-gc: it must finish cleanly (no crash, no unexpected error), and
 * its resident memory must level off instead of growing with the cycles.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { expect } from 'chai';

interface StressReport {
  cycles: number;
  seconds: number;
  outcomes: { ok: number; interrupted: number; busy: number; other: number };
  rssMb: number[];
}

describe('stress: create/build/search/close cycles with random cancellations and GCs', () => {
  it('never crashes, and RSS levels off', function () {
    this.timeout(180_000);
    const script = fileURLToPath(new URL('./fixtures/stress.ts', import.meta.url));
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', tsx, script], {
      encoding: 'utf8',
      env: { ...process.env, STRESS_SECONDS: process.env.STRESS_SECONDS ?? '20' },
      timeout: 170_000,
    });
    expect(child.signal, child.stderr).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    const report = JSON.parse(child.stdout.trim().split('\n').pop()!) as StressReport;
    console.log(`      ${report.cycles} cycles in ${report.seconds.toFixed(1)} s, outcomes ` +
      `${JSON.stringify(report.outcomes)}, RSS MB every 100 cycles: ${report.rssMb.join(' ')}`);
    expect(report.cycles).to.be.greaterThan(300);
    expect(report.outcomes.ok).to.be.greaterThan(0);
    expect(report.outcomes.interrupted).to.be.greaterThan(0);
    // Level: the last sample is within 64 MB of the median of the second half
    // of the run (a leak of one small index per cycle would add hundreds).
    const tail = report.rssMb.slice(Math.floor(report.rssMb.length / 2)).sort((a, b) => a - b);
    const median = tail[Math.floor(tail.length / 2)]!;
    const first = report.rssMb[Math.min(2, report.rssMb.length - 1)]!;
    expect(report.rssMb.at(-1)!).to.be.at.most(median + 64);
    expect(median).to.be.at.most(first + 128);
  });
});
