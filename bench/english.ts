/**
 * Real English for the benchmarks: the words of the licence texts in
 * /usr/share/common-licenses (Debian), or, without them, of this
 * repository's docs/*.md, and documents made of windows of them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every word (whitespace-separated, as written) of the texts, and where
 * they come from. */
export function englishWords(): { words: string[]; source: string } {
  const licences = '/usr/share/common-licenses';
  const dir = existsSync(licences) ? licences : path.join(root, 'docs');
  const files = readdirSync(dir).map((name) => path.join(dir, name)).filter((file) => !file.endsWith('.png'));
  const words: string[] = [];
  for (const file of files) {
    try {
      words.push(...readFileSync(file, 'utf8').split(/\s+/).filter((word) => word !== ''));
    } catch {
      // a directory or an unreadable file: skip it
    }
  }
  return { words, source: dir };
}

/** xorshift32 from a seed: the same documents on every run. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** A maker of documents: `length` consecutive words from a random place,
 * one word in ten replaced by a random one (real English, with the overlap
 * between documents that real corpora have). */
export function documentMaker(words: readonly string[], random: () => number, length = 100): () => string {
  return () => {
    const at = random() % (words.length - length);
    const out = words.slice(at, at + length);
    for (let i = 0; i < length / 10; i++) out[random() % length] = words[random() % words.length]!;
    return out.join(' ');
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
