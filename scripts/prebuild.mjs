#!/usr/bin/env node
// `npm pack` / `npm publish` run this (prepack): builds the library alone,
// in Release, and puts it where an installed package finds it without a
// compiler: prebuilds/<platform>-<arch>/libknowhere_rs.so (a plain file:
// npm pack drops symlinks). The SIMD kernels are chosen at run time, so one
// x86-64 build serves every x86-64 CPU. Run after `npm run build:ts`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { libraryFileName, prebuiltLibraryPath } =
  await import(pathToFileURL(path.join(root, 'dist', 'library-path.js')).href);
const buildDir = path.join(root, 'build-prebuild');

function run(command, args) {
  // Everything on stderr: `npm pack --json` keeps stdout for its JSON.
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    process.stderr.write(`prebuild: \`${command} ${args.join(' ')}\` failed\n`);
    process.exit(1);
  }
}

run('cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DKNOWHERE_BUILD_TESTS=OFF',
  '-DKNOWHERE_BUILD_EXAMPLES=OFF', '-DKNOWHERE_INSTALL=OFF', '-DKNOWHERE_WERROR=ON']);
run('cmake', ['--build', buildDir, '--target', 'knowhere_rs', '-j', '2']);

const target = prebuiltLibraryPath(root);
rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
mkdirSync(path.dirname(target), { recursive: true });
copyFileSync(path.join(buildDir, libraryFileName()), target); // follows the SONAME symlinks
if (process.platform === 'linux') run('strip', ['--strip-unneeded', target]);
process.stderr.write(`prebuild: ${path.relative(root, target)}\n`);
