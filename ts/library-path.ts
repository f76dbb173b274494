/**
 * Where the native library can be: the package root, the platform key of a
 * prebuilt library, and the candidate paths in the order they are tried.
 * Plain Node (no koffi), so scripts/install.mjs can use it too.
 *
 * Order: KNOWHERE_RS_LIB alone when set; else a library built from source
 * in this package (`build/`, made by scripts/install.mjs or `npm test`,
 * so it matches this machine and this source); else the prebuilt library
 * the npm package ships for this platform (`prebuilds/<key>/`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_NAME = 'knowhere-rs';

/** The directory holding our package.json, found by walking up from this file
 * (its depth differs between ts/ and a compiled dist/). */
export function findPackageRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === PACKAGE_NAME) {
        return dir;
      }
    } catch {
      // No (readable, valid) package.json here: keep walking up.
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** Whether this Linux process runs on musl (Alpine) rather than glibc: a
 * library built against one does not load on the other. The C library
 * this process has mapped says it in a fraction of a millisecond;
 * process.report (the fallback where /proc cannot be read) takes 20-100 ms,
 * which every start of the command paid. */
function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return /\/(ld-musl-|libc\.musl-)[^/\n]*$/m.test(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return report?.header?.glibcVersionRuntime === undefined;
  }
}

/** The prebuilt library's directory name for this process, as sharp names
 * its packages: `linux-x64`, `linuxmusl-arm64`, `darwin-arm64`, ... */
export function platformKey(): string {
  return `${process.platform}${isMusl() ? 'musl' : ''}-${process.arch}`;
}

export function libraryFileName(): string {
  switch (process.platform) {
    case 'win32': return 'knowhere_rs.dll';
    case 'darwin': return 'libknowhere_rs.dylib';
    default: return 'libknowhere_rs.so';
  }
}

/** The prebuilt library of this platform inside a package root. */
export function prebuiltLibraryPath(root: string): string {
  return path.join(root, 'prebuilds', platformKey(), libraryFileName());
}

/** Candidate paths in order (see the module comment); `source` says where
 * they came from, for the error message when none loads. */
export function libraryCandidates(env: NodeJS.ProcessEnv = process.env): { candidates: string[]; source: string } {
  const override = env['KNOWHERE_RS_LIB'];
  if (override !== undefined && override !== '') {
    return { candidates: [path.resolve(override)], source: 'KNOWHERE_RS_LIB' };
  }
  const root = findPackageRoot();
  if (root === null) {
    return {
      candidates: [],
      source: `the package root (no package.json named "${PACKAGE_NAME}" above ${fileURLToPath(import.meta.url)})`,
    };
  }
  return {
    candidates: [path.join(root, 'build', libraryFileName()), prebuiltLibraryPath(root)],
    source: `the package root ${root}`,
  };
}
