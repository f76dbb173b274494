/**
 * The online job's speed (`npm run bench`): NearDuplicateIndex.addIfNew on
 * 100-word documents of real English, with 100 000 documents indexed, one
 * core, against the pattern datasketch documents for it (query, then insert
 * when nothing was found) run through the same index; and the C library's
 * single-signature add at 1M indexed (bench/add_bench.c).
 *
 * The text: windows of 100 words taken at random places from the licence
 * texts in /usr/share/common-licenses (Debian), or, without them, from this
 * repository's docs/*.md.
 *
 *   npx tsx bench/near-duplicate.bench.ts [--docs 100000] [--online 20000] [--skip-c]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';

import { NearDuplicateIndex } from '../ts/index.ts';
import { documentMaker, englishWords, xorshift } from './english.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { docs: { type: 'string', default: '100000' }, online: { type: 'string', default: '20000' },
    'skip-c': { type: 'boolean', default: false } },
});
const indexed = Number(values.docs);
const online = Number(values.online);

const { words, source } = englishWords();
const document = documentMaker(words, xorshift(0x2545f491));
const base = Array.from({ length: indexed }, document);
const incoming = Array.from({ length: online }, document);

/** A full garbage collection, so that the garbage of setting an index up
 * (addMany's packed texts and batches) is not collected, and charged, in
 * the middle of the timed loop. */
const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** us per document for `online` documents through `step`, on a fresh copy of
 * the indexed corpus: the median of `runs` runs, in wall time and in CPU
 * time of this process (the target is per core: on a shared machine the
 * CPU time is the steadier measure of it). */
function measure(verify: 'exact' | 'estimate', step: (index: NearDuplicateIndex, key: number, text: string) => void,
                 runs = 3): { us: number; cpuUs: number; kept: number } {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let kept = 0;
  for (let run = 0; run < runs; run++) {
    using index = new NearDuplicateIndex({ verify });
    index.addMany(base.map((text, i) => [i, text] as const));
    gc();
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < online; i++) step(index, indexed + i, incoming[i]!);
    const cpu = process.cpuUsage(cpuStart);
    times.push(((performance.now() - start) * 1000) / online);
    cpuTimes.push((cpu.user + cpu.system) / online);
    kept = index.size - indexed;
  }
  return { us: median(times), cpuUs: median(cpuTimes), kept };
}

console.log(`NearDuplicateIndex, ${indexed} documents of 100 words indexed, ${online} more offered one by one ` +
  `(text: windows of ${source}, one word in ten replaced), one core, medians of 3 runs (wall time; CPU time):`);
for (const verify of ['exact', 'estimate'] as const) {
  const addIfNew = measure(verify, (index, key, text) => { index.addIfNew(key, text); });
  const pattern = measure(verify, (index, key, text) => {
    if (index.query(text, { limit: 1 }).length === 0) index.add(key, text);
  });
  const rate = (us: number): string => `${(1e6 / us / 1000).toFixed(0)}k docs/s`;
  console.log(`  verify '${verify}': addIfNew ${addIfNew.us.toFixed(2)} us/doc (${rate(addIfNew.us)}); CPU ` +
    `${addIfNew.cpuUs.toFixed(2)} us/doc (${rate(addIfNew.cpuUs)}; target >= 100k docs/s per core: ` +
    `${addIfNew.cpuUs <= 10 ? 'met' : 'MISSED'}), query-then-add pattern ${pattern.us.toFixed(2)} us/doc ` +
    `(${rate(pattern.us)}; CPU ${pattern.cpuUs.toFixed(2)} us/doc), ratio ${(pattern.us / addIfNew.us).toFixed(2)}; ` +
    `${addIfNew.kept} of ${online} kept`);
}

if (!values['skip-c']) {
  const exe = path.join(root, 'build-bench', 'bench', 'add_bench');
  const build = spawnSync('cmake', ['--build', path.join(root, 'build-bench'), '--target', 'add_bench'], { stdio: 'inherit' });
  if (build.status === 0 && existsSync(exe)) {
    for (const raw of ['1', '0']) {
      const child = spawnSync(exe, ['1000000', raw, '1'], { encoding: 'utf8' });
      const r = JSON.parse(child.stdout) as Record<string, number>;
      console.log(`C single add at 1M (raw ${raw}, 1 thread, 500k adds crossing a merge): ` +
        `${(r['add_wall_ns']! / 1000).toFixed(2)} us wall, ${(r['add_cpu_ns']! / 1000).toFixed(2)} us CPU per add ` +
        `(target <= 2 us), slowest ${r['slowest_add_ms']!.toFixed(0)} ms; single search on the grown index ` +
        `${(r['search_grown_ns']! / 1000).toFixed(2)} us vs ${(r['search_built_ns']! / 1000).toFixed(2)} us built at once`);
    }
  } else {
    console.log('C single add: build-bench/ not configured (run bench/minhash-lsh.bench.ts first)');
  }
}
