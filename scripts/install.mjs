#!/usr/bin/env node
// The package's `install` script: makes sure a native library this machine
// can load is there, building it from source only when it must.
//
// In an installed package (inside node_modules):
//   1. KNOWHERE_RS_LIB is set: the user brings their own library; done.
//   2. The prebuilt library shipped for this platform (prebuilds/<key>/)
//      loads and has our ABI: done, no compiler needed.
//   3. Otherwise build the library alone from the shipped sources with
//      CMake and the C compiler (no tests, no examples, no -Werror) into
//      build/, where the loader looks first; say what is missing if it can't.
//   KNOWHERE_RS_BUILD_FROM_SOURCE=1 skips step 2.
// In a clone (not inside node_modules): configure build/ for development
// (tests, examples, -Werror) and build everything, as `npm test` expects.
//
// npm 11 may not run a dependency's install script at all: then the
// prebuilt library is simply used at run time, and where none fits the
// loader's error says to run this script by hand.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const inNodeModules = root.split(path.sep).includes('node_modules');
const jobs = String(Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8)));

function say(message) {
  process.stderr.write(`knowhere-rs: ${message}\n`);
}

function has(command, args = ['--version']) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${result.status})`);
}

/** Whether the compiled binding loads a library here (in a child process,
 * with the loader's own search order and ABI check). */
function bindingLoads() {
  const entry = path.join(root, 'dist', 'index.js');
  if (!existsSync(entry)) return { ok: false, message: `${entry} is missing` };
  const child = spawnSync(process.execPath, ['--input-type=module', '-e',
    `const m = await import(${JSON.stringify(pathToFileURL(entry).href)}); process.stdout.write(m.libraryPath());`],
  { cwd: root, encoding: 'utf8' });
  return child.status === 0
    ? { ok: true, message: child.stdout }
    : { ok: false, message: (child.stderr || '').trim() };
}

/** Configures and builds build/ with CMake (Ninja when present). */
function cmakeBuild(options, target) {
  const generator = existsSync(path.join(root, 'build', 'CMakeCache.txt')) || !has('ninja')
    ? [] : ['-G', 'Ninja'];
  run('cmake', ['-S', root, '-B', path.join(root, 'build'), ...generator, ...options]);
  run('cmake', ['--build', path.join(root, 'build'), '-j', jobs, ...(target ? ['--target', target] : [])]);
}

function requireBuildTools() {
  const missing = [];
  if (!has('cmake')) missing.push('CMake >= 3.16 (https://cmake.org/download/, or your package manager: cmake)');
  if (!has(process.env.CC || 'cc') && !has('gcc') && !has('clang')) {
    missing.push('a C11 compiler (gcc or clang; Debian/Ubuntu: build-essential)');
  }
  if (missing.length > 0) {
    throw new Error(`cannot build the native library from source; missing:\n  ${missing.join('\n  ')}`);
  }
}

function installForUser() {
  if (process.env.KNOWHERE_RS_LIB) {
    say(`using KNOWHERE_RS_LIB=${process.env.KNOWHERE_RS_LIB}`);
    return;
  }
  if (!process.env.KNOWHERE_RS_BUILD_FROM_SOURCE) {
    const loaded = bindingLoads();
    if (loaded.ok) return; // the prebuilt (or an earlier source build) works
    say(`no usable prebuilt library (${loaded.message.split('\n')[0]}); building from source`);
  }
  requireBuildTools();
  cmakeBuild(['-DCMAKE_BUILD_TYPE=Release', '-DKNOWHERE_BUILD_TESTS=OFF', '-DKNOWHERE_BUILD_EXAMPLES=OFF',
    '-DKNOWHERE_INSTALL=OFF', '-DKNOWHERE_WERROR=OFF'], 'knowhere_rs');
  const loaded = bindingLoads();
  if (!loaded.ok) throw new Error(`built the library, but it does not load:\n${loaded.message}`);
  say(`built ${loaded.message}`);
}

function installForDevelopment() {
  requireBuildTools();
  if (!has(process.env.CXX || 'c++') && !has('g++') && !has('clang++')) {
    throw new Error('the tests need a C++ compiler too (g++ or clang++)');
  }
  cmakeBuild(['-DCMAKE_BUILD_TYPE=Release', '-DKNOWHERE_BUILD_TESTS=ON', '-DKNOWHERE_BUILD_EXAMPLES=ON',
    '-DKNOWHERE_WERROR=ON']);
}

try {
  if (inNodeModules) installForUser();
  else installForDevelopment();
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
