// Loaded with `node --import` by bench/dedup.bench.ts into the process it
// measures: on exit, writes that process's peak resident set size
// (getrusage ru_maxrss, in KiB) to the file named by KNOWHERE_BENCH_RSS_FILE.
// The command runs in the same process, so this is its own peak, not a
// wrapper's.
import { writeFileSync } from 'node:fs';

const file = process.env.KNOWHERE_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, `${process.resourceUsage().maxRSS}\n`);
  });
}
