import { ingest } from '../../ts/cli/ingest.ts';
import { listInputs } from '../../ts/cli/files.ts';
import { PhaseReporter } from '../../ts/cli/progress.ts';
import { chooseBands } from '../../ts/threshold.ts';
const file = process.argv[2]!;
const signal = new AbortController().signal;
const reporter = new PhaseReporter(process.stderr, { quiet: true });
const listing = await listInputs({ inputs: [file], include: [], exclude: [], signal, onBadInput: () => {}, onProgress: () => {} });
const t = performance.now();
const r = await ingest({ files: listing.files, jsonl: true, textField: 'text', idField: null, maxDocumentBytes: 64 << 20,
  batchBytes: Number(process.env.BATCH ?? 16 << 20), numHashes: 128, shingle: { kind: 'words', size: 3 }, seed: 0n, threads: 0,
  bands: chooseBands(128, 0.8, 0.95), spool: false, signal, stdin: process.stdin, reporter, onBadInput: (b) => { console.log(b); } });
const ms = performance.now() - t;
console.log(`docs ${r.table.count} in ${(ms/1000).toFixed(2)} s: wait ${(r.waitMs/1000).toFixed(2)} hash ${(r.hashMs/1000).toFixed(2)} index ${(r.indexMs/1000).toFixed(2)}; index ${(r.index!.memoryUsage/2**20).toFixed(0)} MiB = ${(r.index!.memoryUsage/r.table.count).toFixed(0)} B/doc; maxRSS ${(process.resourceUsage().maxRSS/1024).toFixed(0)} MiB`);
const m = process.memoryUsage();
console.log(Object.entries(m).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)}`).join(' '));
(globalThis as { gc?: () => void }).gc?.();
const m2 = process.memoryUsage();
console.log('after gc', Object.entries(m2).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)}`).join(' '));
