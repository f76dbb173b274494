/**
 * How ts/native.ts finds and vets the library. Each case loads the module in
 * a child process (`node --import tsx -e ...`) so this process keeps the
 * library it already loaded.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { expect } from 'chai';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const nativeModuleUrl = new URL('../ts/native.ts', import.meta.url).href;
const tsxUrl = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface LoadOutcome {
  readonly exitCode: number | null;
  /** The loaded library's path and ABI on success. */
  readonly loaded?: { path: string; abi: number };
  /** The load error's message on failure. */
  readonly message: string;
}

/** Imports ts/native.ts in a fresh node, from another working directory. */
function loadInChild(env: Record<string, string | undefined>, cwd = os.tmpdir()): LoadOutcome {
  const script = `import(${JSON.stringify(nativeModuleUrl)}).then(
    (m) => { process.stdout.write(JSON.stringify({ path: m.native.path, abi: m.native.abiVersion() })); },
    (e) => { process.stderr.write(String(e && e.message)); process.exit(3); })`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawnSync(process.execPath, ['--import', tsxUrl, '-e', script], {
    cwd, env: childEnv, encoding: 'utf8', timeout: 30_000,
  });
  if (child.status === 0) {
    return { exitCode: 0, loaded: JSON.parse(child.stdout) as { path: string; abi: number }, message: '' };
  }
  return { exitCode: child.status, message: child.stderr };
}

function findCompiler(): string | null {
  for (const candidate of ['cc', 'gcc', 'clang']) {
    if (spawnSync(candidate, ['--version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return null;
}

describe('native loader: finding the library', function () {
  this.timeout(60_000);

  it('loads <root>/build/libknowhere_rs.so by absolute path, whatever the working directory', function () {
    if (process.platform !== 'linux') this.skip();
    const outcome = loadInChild({ KNOWHERE_RS_LIB: undefined });
    expect(outcome.message).to.equal('');
    expect(outcome.loaded?.path).to.equal(path.join(packageRoot, 'build', 'libknowhere_rs.so'));
    expect(outcome.loaded?.abi).to.equal(1);
  });

  it('KNOWHERE_RS_LIB naming a missing file fails with a message listing that path and why', () => {
    const missing = path.join(os.tmpdir(), 'knowhere-rs-no-such-dir', 'libknowhere_rs.so');
    const outcome = loadInChild({ KNOWHERE_RS_LIB: missing });
    expect(outcome.exitCode).to.equal(3);
    expect(outcome.message).to.contain('cannot load the native library');
    expect(outcome.message).to.contain(`${missing}: file not found`);
    expect(outcome.message).to.contain('KNOWHERE_RS_LIB');
    // When set, it is the only candidate: the build directory is not tried.
    expect(outcome.message).to.not.contain(path.join(packageRoot, 'build'));
  });

  it('a relative KNOWHERE_RS_LIB is resolved against the working directory', () => {
    const cwd = os.tmpdir();
    const outcome = loadInChild({ KNOWHERE_RS_LIB: 'relative/libnothing.so' }, cwd);
    expect(outcome.exitCode).to.equal(3);
    expect(outcome.message).to.contain(`${path.join(cwd, 'relative', 'libnothing.so')}: file not found`);
  });

  it('KNOWHERE_RS_LIB naming a file that is not a library reports the path and the loader reason', () => {
    const notALibrary = path.join(packageRoot, 'package.json');
    const outcome = loadInChild({ KNOWHERE_RS_LIB: notALibrary });
    expect(outcome.exitCode).to.equal(3);
    const line = outcome.message.split('\n').find((text) => text.includes(notALibrary));
    expect(line, outcome.message).to.be.a('string');
    // "<path>: <koffi's reason>", the reason being more than the path.
    expect(line!.trim().length).to.be.above(notALibrary.length + 10);
    expect(line).to.not.contain('file not found');
  });

  it('without a source build, loads the prebuilt library of this platform, passing over a wrong ABI', function () {
    const compiler = findCompiler();
    if (compiler === null || process.platform !== 'linux') this.skip();
    // A package as npm installs it: package.json, dist/ and prebuilds/<key>/.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knowhere-rs-prebuilt-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'knowhere-rs', type: 'module' }));
      cpSync(path.join(packageRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
      symlinkSync(path.join(packageRoot, 'node_modules'), path.join(dir, 'node_modules'));
      const key = `${process.platform}-${process.arch}`;
      const prebuilt = path.join(dir, 'prebuilds', key, 'libknowhere_rs.so');
      mkdirSync(path.dirname(prebuilt), { recursive: true });
      cpSync(path.join(packageRoot, 'build', 'libknowhere_rs.so'), prebuilt, { dereference: true });
      const entry = pathToFileURL(path.join(dir, 'dist', 'index.js')).href;
      const load = () => spawnSync(process.execPath, ['--input-type=module', '-e',
        `const m = await import(${JSON.stringify(entry)}); process.stdout.write(m.libraryPath());`],
      { cwd: os.tmpdir(), encoding: 'utf8', env: { ...process.env, KNOWHERE_RS_LIB: '' } });

      let child = load();
      expect(child.stderr).to.equal('');
      expect(child.stdout).to.equal(prebuilt);

      // A stale source build of another ABI comes first, is refused, and the prebuilt serves.
      mkdirSync(path.join(dir, 'build'));
      const stale = path.join(dir, 'build', 'libknowhere_rs.so');
      writeFileSync(path.join(dir, 'abi.c'), 'unsigned knowhere_abi_version(void) { return 0; }\n');
      expect(spawnSync(compiler!, ['-shared', '-fPIC', '-o', stale, path.join(dir, 'abi.c')]).status).to.equal(0);
      child = load();
      expect(child.stderr).to.equal('');
      expect(child.stdout).to.equal(prebuilt);

      // Neither loads: the error lists both paths, their reasons, and how to build from source.
      rmSync(prebuilt);
      child = load();
      expect(child.status).to.not.equal(0);
      expect(child.stderr).to.contain(`${stale}: ABI version 0`);
      expect(child.stderr).to.contain(`${prebuilt}: file not found`);
      expect(child.stderr).to.contain(`node ${path.join(dir, 'scripts', 'install.mjs')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a library whose ABI version differs, naming both versions', function () {
    const compiler = findCompiler();
    if (compiler === null || process.platform === 'win32') this.skip();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knowhere-rs-abi-'));
    try {
      const source = path.join(dir, 'abi.c');
      const library = path.join(dir, process.platform === 'darwin' ? 'libabi.dylib' : 'libabi.so');
      writeFileSync(source, 'unsigned knowhere_abi_version(void) { return 2; }\n');
      const build = spawnSync(compiler!, ['-shared', '-fPIC', '-o', library, source], { encoding: 'utf8' });
      expect(build.status, build.stderr).to.equal(0);
      const outcome = loadInChild({ KNOWHERE_RS_LIB: library });
      expect(outcome.exitCode).to.equal(3);
      expect(outcome.message).to.contain(library);
      expect(outcome.message).to.match(/ABI version 2\b/);
      expect(outcome.message).to.match(/ABI version 1\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
