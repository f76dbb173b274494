#!/usr/bin/env node
// The README's test command (`npm test`): runs every suite in order and ends
// with one line `N passed, N failed, N skipped` summed over all of them, so
// a run that executed no test is visible.
//
// A suite whose tool is missing (valgrind; clang with libFuzzer; the
// sanitizer runtimes) is skipped with a line saying which and why, and
// counts as one skipped. KNOWHERE_REQUIRE_ALL=1 (set by .ci/run) makes a
// skipped suite a failure, so CI runs everything.
//
//   npm test                      everything
//   npm test -- --grep interrupt  only tests whose name matches (mocha --grep,
//                                 ctest -R), plus the typecheck
//   KNOWHERE_SKIP_SANITIZERS=1    skip the ASan/UBSan and TSan rebuilds
//   KNOWHERE_SKIP_VALGRIND=1      skip the valgrind memcheck runs
//   KNOWHERE_FUZZ_SECONDS=N       seconds per libFuzzer target (default 30; 0 skips)
//   KNOWHERE_VENDOR_DIR=path      knowhere's vendored headers for the adapter test
//                                 (default ../shared/vendor/knowhere)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;
const jobs = '2';

const requireAll = Boolean(process.env.KNOWHERE_REQUIRE_ALL);

let passed = 0;
let failed = 0;
let skipped = 0;

/** A suite that cannot run here: skipped, or failed under KNOWHERE_REQUIRE_ALL. */
function skip(suite, why) {
  if (requireAll) {
    failed += 1;
    console.log(`\nFAILED: ${suite} cannot run (${why}), and KNOWHERE_REQUIRE_ALL is set`);
  } else {
    skipped += 1;
    console.log(`\nSKIPPED: ${suite}: ${why}`);
  }
}

function hasCommand(command, args = ['--version']) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Whether `compiler` links a one-line C program with `flags` (a sanitizer
 * or libFuzzer runtime that is not installed fails here). */
function compiles(compiler, flags, source = 'int main(void) { return 0; }\n') {
  const dir = mkdtempSync(join(tmpdir(), 'knowhere-probe-'));
  try {
    writeFileSync(join(dir, 'probe.c'), source);
    return spawnSync(compiler, [...flags, join(dir, 'probe.c'), '-o', join(dir, 'probe')], { stdio: 'ignore' })
      .status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ninja = hasCommand('ninja') ? ['-G', 'Ninja'] : [];

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

/** The development configuration: tests, examples, warnings as errors. */
const developmentOptions = ['-DKNOWHERE_BUILD_TESTS=ON', '-DKNOWHERE_BUILD_EXAMPLES=ON', '-DKNOWHERE_WERROR=ON'];

function configureAndBuild(buildDir, options) {
  // A build tree keeps the generator it was made with.
  const generator = existsSync(join(buildDir, 'CMakeCache.txt')) ? [] : ninja;
  return (
    step(`configure ${buildDir}`, 'cmake', ['-S', root, '-B', buildDir, ...generator, ...developmentOptions, ...options]) &&
    step(`build ${buildDir}`, 'cmake', ['--build', buildDir, '-j', jobs])
  );
}

/** One check per libFuzzer target (scripts/fuzz.sh prints "fuzz <t>: ok"). */
function fuzz(seconds) {
  const clang = process.env.CLANG || ['clang', 'clang-14'].find((c) => hasCommand(c));
  const fuzzerSource = 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n';
  if (!clang || !compiles(clang, ['-fsanitize=fuzzer,address,undefined'], fuzzerSource)) {
    skip('the libFuzzer targets', clang
      ? `${clang} cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)`
      : 'clang not found (Debian: apt-get install clang libclang-rt-14-dev)');
    return;
  }
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

/** The MINHASH_LSH_RS knowhere node's test (test/knowhere) in a build tree
 * of its own, since it compiles part of folly and knowhere (about a minute
 * the first time). CMake writes whether it could (knowhere's vendored
 * headers in ../shared/vendor/knowhere or KNOWHERE_VENDOR_DIR, and the
 * Debian packages) to knowhere-adapter-test.txt: "ready", or what is
 * missing, which makes the suite skipped. */
function knowhereAdapter() {
  const dir = join(root, 'build-knowhere');
  const generator = existsSync(join(dir, 'CMakeCache.txt')) ? [] : ninja;
  const options = ['-DKNOWHERE_BUILD_KNOWHERE_ADAPTER_TEST=ON', '-DKNOWHERE_WERROR=ON'];
  if (!step('configure build-knowhere', 'cmake', ['-S', root, '-B', dir, ...generator, ...options])) return;
  const state = join(dir, 'knowhere-adapter-test.txt');
  const ready = existsSync(state) ? readFileSync(state, 'utf8').trim() : 'CMake wrote no knowhere-adapter-test.txt';
  if (ready.startsWith('missing vendor: ')) {
    // knowhere's headers live outside the repository (../shared/vendor):
    // nothing .ci/run can install, so even KNOWHERE_REQUIRE_ALL only reports it.
    skipped += 1;
    console.log(`\nSKIPPED: the knowhere adapter test: missing ${ready.slice('missing vendor: '.length)}`);
    return;
  }
  if (ready !== 'ready') {
    skip('the knowhere adapter test', ready);
    return;
  }
  if (step('build build-knowhere', 'cmake', ['--build', dir, '-j', jobs])) ctest(dir, ['-L', 'knowhere']);
}

/** Counts mocha's spec-reporter tally ("N passing", "N failing", "N pending"). */
function mocha() {
  const filter = grep ? ['--grep', grep] : [];
  const { status, out } = run(join(root, 'node_modules/.bin/mocha'), filter);
  const passing = out.match(/^\s*(\d+) passing/m);
  const failing = out.match(/^\s*(\d+) failing/m);
  const pending = out.match(/^\s*(\d+) pending/m);
  passed += passing ? Number(passing[1]) : 0;
  failed += failing ? Number(failing[1]) : 0;
  skipped += pending ? Number(pending[1]) : 0;
  if (status !== 0 && !failing) {
    failed += 1;
    console.log('FAILED: mocha exited without a tally');
  }
}

// The library, C tests and examples (build/, as scripts/install.mjs made it
// in `npm install`), then the compiled binding (dist/, which the CLI runs).
configureAndBuild(join(root, 'build'), []);
step('compile the binding (tsc -p tsconfig.build.json)', join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json']);
step('typecheck', join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.']);
ctest(join(root, 'build'), ['-LE', 'cxx|valgrind']);
ctest(join(root, 'build'), ['-L', 'cxx']);
knowhereAdapter();
if (process.env.KNOWHERE_SKIP_VALGRIND) skip('valgrind', 'KNOWHERE_SKIP_VALGRIND is set');
else if (!hasCommand('valgrind')) skip('valgrind', 'valgrind not found (Debian: apt-get install valgrind)');
else ctest(join(root, 'build'), ['-L', 'valgrind']);
const cc = process.env.CC || 'cc';
if (process.env.KNOWHERE_SKIP_SANITIZERS) {
  skip('ASan+UBSan and TSan', 'KNOWHERE_SKIP_SANITIZERS is set');
} else {
  if (!compiles(cc, ['-fsanitize=address,undefined'])) {
    skip('ASan+UBSan', `${cc} cannot link -fsanitize=address,undefined (runtime libraries missing)`);
  } else {
    const asan = join(root, 'build-asan');
    if (configureAndBuild(asan, ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DKNOWHERE_SANITIZE=address,undefined'])) {
      ctest(asan, [], { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' });
    }
  }
  if (!compiles(cc, ['-fsanitize=thread'])) {
    skip('TSan', `${cc} cannot link -fsanitize=thread (runtime library missing)`);
  } else {
    const tsan = join(root, 'build-tsan');
    if (configureAndBuild(tsan, ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DKNOWHERE_SANITIZE=thread'])) {
      ctest(tsan, ['-L', 'threads'], { TSAN_OPTIONS: 'halt_on_error=1' });
    }
  }
}
const fuzzSeconds = Number(process.env.KNOWHERE_FUZZ_SECONDS ?? 30);
if (fuzzSeconds <= 0) skip('the libFuzzer targets', 'KNOWHERE_FUZZ_SECONDS=0');
else if (!grep) fuzz(fuzzSeconds);
mocha();

console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
