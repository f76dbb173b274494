#!/usr/bin/env node
// The README's test command (`npm test`): runs every suite in order and ends
// with one line `N passed, N failed` summed over all of them, so a run that
// executed no test is visible.
//
//   npm test                      everything
//   npm test -- --grep interrupt  only tests whose name matches (mocha --grep,
//                                 ctest -R), plus the typecheck
//   KNOWHERE_SKIP_SANITIZERS=1    skip the ASan/UBSan and TSan rebuilds
//   KNOWHERE_SKIP_VALGRIND=1      skip the valgrind memcheck runs
//   KNOWHERE_FUZZ_SECONDS=N       seconds per libFuzzer target (default 30; 0 skips)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;
const jobs = '2';

let passed = 0;
let failed = 0;

function run(command, commandArgs, options = {}) {
  console.log(`\n$ ${command} ${commandArgs.join(' ')}`);
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    ...options,
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  return { status: result.status ?? 1, out: `${result.stdout}\n${result.stderr}` };
}

/** A step that is one check: it passes or fails as a whole. */
function step(name, command, commandArgs) {
  const { status } = run(command, commandArgs);
  if (status === 0) passed += 1;
  else {
    failed += 1;
    console.log(`FAILED: ${name}`);
  }
  return status === 0;
}

/** Counts ctest's own tally ("N tests failed out of M"). */
function ctest(buildDir, labelArgs, extraEnv = {}) {
  const filter = grep ? ['-R', grep] : [];
  const { status, out } = run(
    'ctest',
    ['--test-dir', buildDir, '--output-on-failure', '-j', jobs, ...labelArgs, ...filter],
    { env: { ...process.env, ...extraEnv } },
  );
  const tally = out.match(/(\d+) tests? failed out of (\d+)/);
  if (tally) {
    failed += Number(tally[1]);
    passed += Number(tally[2]) - Number(tally[1]);
  } else if (!/No tests were found/.test(out) || status !== 0) {
    failed += 1;
    console.log(`FAILED: ctest in ${buildDir} gave no tally`);
  }
}

function configureAndBuild(buildDir, sanitize) {
  return (
    step(`configure ${buildDir}`, 'cmake', [
      '-S', root, '-B', buildDir, '-G', 'Ninja',
      '-DCMAKE_BUILD_TYPE=RelWithDebInfo', `-DKNOWHERE_SANITIZE=${sanitize}`,
    ]) && step(`build ${buildDir}`, 'cmake', ['--build', buildDir, '-j', jobs])
  );
}

/** One check per libFuzzer target (scripts/fuzz.sh prints "fuzz <t>: ok"). */
function fuzz(seconds) {
  const { out } = run('bash', [join(root, 'scripts/fuzz.sh'), String(seconds)]);
  const lines = out.match(/^fuzz \S+: .*$/gm) ?? [];
  for (const line of lines) {
    if (/: ok/.test(line)) passed += 1;
    else failed += 1;
  }
  if (lines.length === 0) {
    failed += 1;
    console.log('FAILED: the fuzz step ran no target');
  }
}

/** Counts mocha's spec-reporter tally ("N passing", "N failing"). */
function mocha() {
  const filter = grep ? ['--grep', grep] : [];
  const { status, out } = run(join(root, 'node_modules/.bin/mocha'), filter);
  const passing = out.match(/^\s*(\d+) passing/m);
  const failing = out.match(/^\s*(\d+) failing/m);
  passed += passing ? Number(passing[1]) : 0;
  failed += failing ? Number(failing[1]) : 0;
  if (status !== 0 && !failing) {
    failed += 1;
    console.log('FAILED: mocha exited without a tally');
  }
}

if (!existsSync(join(root, 'build/Release'))) {
  step('build (cmake-js)', 'npm', ['run', 'build']);
} else {
  step('build', 'cmake', ['--build', join(root, 'build'), '-j', jobs]);
}
step('typecheck', join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.']);
ctest(join(root, 'build'), ['-LE', 'cxx|valgrind']);
ctest(join(root, 'build'), ['-L', 'cxx']);
if (!process.env.KNOWHERE_SKIP_VALGRIND) ctest(join(root, 'build'), ['-L', 'valgrind']);
if (!process.env.KNOWHERE_SKIP_SANITIZERS) {
  const asan = join(root, 'build-asan');
  if (configureAndBuild(asan, 'address,undefined')) {
    ctest(asan, [], { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' });
  }
  const tsan = join(root, 'build-tsan');
  if (configureAndBuild(tsan, 'thread')) {
    ctest(tsan, ['-L', 'threads'], { TSAN_OPTIONS: 'halt_on_error=1' });
  }
}
const fuzzSeconds = Number(process.env.KNOWHERE_FUZZ_SECONDS ?? 30);
if (fuzzSeconds > 0 && !grep) fuzz(fuzzSeconds);
mocha();

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
