/**
 * The command against the library (`npm run bench`, issue 14): text to
 * pairs for 100 000 documents through `knowhere-rs dedup --format
 * pairs-csv`, and the same work done by a C program (bench/pipeline_bench.c:
 * signatures in one batch call, bands for the threshold, build with raw
 * data, self-join, pairs written), run alternately in child processes on
 * the same texts. Target: the command within 1.5x of the C pipeline.
 *
 * The texts: 100-word windows of real English (bench/english.ts), one word
 * in ten replaced, plus near-duplicates (5 % of the documents, each a copy
 * of an earlier one with two words replaced), so the join has pairs to
 * find. The command reads them as JSON Lines; the C program as one
 * document per line (the texts hold no newline), so the difference also
 * counts JSON parsing, as a user of the command pays it. Both must find the
 * same pairs (checked). Node's own start-up (`node -e 0`) is measured too:
 * the part of the difference no code of ours can remove.
 *
 *   npx tsx bench/cli-vs-c.bench.ts [--docs 100000] [--runs 5]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { documentMaker, englishWords, median, xorshift } from './english.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build-bench');
const { values } = parseArgs({ options: { docs: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' } } });
const ndocs = Number(values.docs);
const runs = Number(values.runs);
const TARGET = 1.5;

function run(command: string, args: readonly string[]): { ms: number; stderr: string } {
  const start = performance.now();
  const child = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - start;
  if (child.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${child.status}): ${child.stderr}`);
  return { ms, stderr: child.stderr };
}

function pipelineProgram(): string {
  if (!existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
    run('cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DKNOWHERE_BUILD_TESTS=OFF',
      '-DKNOWHERE_BUILD_EXAMPLES=OFF']);
  }
  run('cmake', ['--build', buildDir, '--target', 'pipeline_bench']);
  return path.join(buildDir, 'bench', 'pipeline_bench');
}

/** The pairs of a CSV whose lines start with "left,right,". */
function pairsOf(file: string): Set<string> {
  const pairs = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+),(\d+),/.exec(line);
    if (m !== null) pairs.add(`${m[1]},${m[2]}`);
  }
  return pairs;
}

const { words, source } = englishWords();
const random = xorshift(0x5eed);
const makeDocument = documentMaker(words, random);
const texts: string[] = [];
for (let i = 0; i < ndocs; i++) {
  if (i > 100 && random() % 20 === 0) {
    const copy = texts[random() % i]!.split(' ');
    for (let r = 0; r < 2; r++) copy[random() % copy.length] = words[random() % words.length]!;
    texts.push(copy.join(' '));
  } else {
    texts.push(makeDocument());
  }
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'knowhere-cli-vs-c-'));
try {
  const jsonl = path.join(dir, 'corpus.jsonl');
  const lines = path.join(dir, 'corpus.txt');
  writeFileSync(jsonl, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  writeFileSync(lines, texts.join('\n') + '\n');
  const program = pipelineProgram();
  const cliOut = path.join(dir, 'cli.csv');
  const cOut = path.join(dir, 'c.csv');
  const cli = (): { ms: number; stderr: string } => run(process.execPath, [path.join(root, 'bin', 'knowhere-rs.mjs'),
    'dedup', '--jsonl', jsonl, '--format', 'pairs-csv', '-o', cliOut]);
  const c = (): { ms: number; stderr: string } => run(program, [lines, cOut, '0.8', '0']);

  cli(); // warm the page cache and the compiled JavaScript
  c();
  const cliMs: number[] = [];
  const cMs: number[] = [];
  const nodeMs: number[] = [];
  let cliTimes = '';
  let cTimes = '';
  for (let r = 0; r < runs; r++) {
    const a = cli();
    const b = c();
    nodeMs.push(run(process.execPath, ['-e', '0']).ms);
    cliMs.push(a.ms);
    cMs.push(b.ms);
    cliTimes = /time: (.*)/.exec(a.stderr)?.[1] ?? '';
    cTimes = b.stderr.trim();
  }
  const fromCli = pairsOf(cliOut);
  const fromC = pairsOf(cOut);
  const same = fromCli.size === fromC.size && [...fromC].every((pair) => fromCli.has(pair));
  if (!same) throw new Error(`the command found ${fromCli.size} pairs and the C program ${fromC.size}: not the same`);

  const ratio = median(cliMs) / median(cMs);
  console.log(`Text to pairs, ${ndocs} documents of 100 words (windows of ${source}, one word in ten replaced, ` +
    `5 % near-duplicates), T = 0.8, all cores (${os.availableParallelism()}), medians of ${runs} alternate runs:`);
  console.log(`  knowhere-rs dedup --jsonl --format pairs-csv: ${(median(cliMs) / 1000).toFixed(3)} s ` +
    `(${cliTimes})`);
  console.log(`  C pipeline (bench/pipeline_bench.c):          ${(median(cMs) / 1000).toFixed(3)} s (${cTimes})`);
  console.log(`  ratio ${ratio.toFixed(2)} (target <= ${TARGET}); node -e 0 alone: ${(median(nodeMs) / 1000).toFixed(3)} s; ` +
    `both found the same ${fromC.size} pairs`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
