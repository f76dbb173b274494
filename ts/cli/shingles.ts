/**
 * The shingle sets that signatures are computed from, recomputed in
 * TypeScript for `--verify exact`: the library's normalisation
 * (docs/signatures.md, native/signature.c) followed step by step, with the
 * shingles kept as strings, so a Jaccard similarity computed here is exact
 * (the library hashes each shingle to 64 bits; a collision there is the
 * only way the two can differ).
 *
 *  1. UTF-8 is decoded with invalid bytes as U+FFFD (maximal subparts, as
 *     TextDecoder does);
 *  2. each code point is mapped to its simple lowercase (unless keepCase);
 *  3. runs of White_Space become one U+0020, none at either end;
 *  4. shingles are n consecutive words (split at those spaces) or n
 *     consecutive code points (spaces included); a text with at most n
 *     units is one shingle, the whole text; an empty text has none.
 */
import type { ShingleKind } from '../signature.ts';

export interface ShingleSpec {
  readonly kind: ShingleKind;
  readonly size: number;
  readonly keepCase?: boolean;
}

const decoder = new TextDecoder('utf-8');
const WHITE_SPACE = /\p{White_Space}+/u;

/**
 * The simple lowercase of every code point. String.prototype.toLowerCase
 * applies the full mapping, which differs from the simple one in exactly
 * two places (SpecialCasing.txt, locale-independent): U+0130 (to "i" plus a
 * combining dot, simple: "i") and U+03A3 (to final sigma at the end of a
 * word, simple: always U+03C3). Those two are mapped first.
 */
function simpleLowercase(text: string): string {
  const fixed = /[\u0130\u03a3]/.test(text) ? text.replace(/\u0130/g, 'i').replace(/\u03a3/g, '\u03c3') : text;
  return fixed.toLowerCase();
}

/** The words of the normalised text (step 1 to 3). */
export function normalisedWords(text: string | Uint8Array, keepCase = false): string[] {
  const decoded = typeof text === 'string' ? text : decoder.decode(text);
  const cased = keepCase ? decoded : simpleLowercase(decoded);
  return cased.split(WHITE_SPACE).filter((word) => word !== '');
}

/** The distinct shingles of a document. */
export function shingleSet(text: string | Uint8Array, spec: ShingleSpec): Set<string> {
  const words = normalisedWords(text, spec.keepCase ?? false);
  const shingles = new Set<string>();
  if (words.length === 0) return shingles;
  const n = spec.size;
  if (spec.kind === 'words') {
    if (words.length <= n) {
      shingles.add(words.join(' '));
      return shingles;
    }
    for (let i = 0; i + n <= words.length; i++) shingles.add(words.slice(i, i + n).join(' '));
    return shingles;
  }
  const normalised = words.join(' ');
  // Where each code point starts (UTF-16 index), and the end.
  const starts: number[] = [];
  for (let i = 0; i < normalised.length; i++) {
    const unit = normalised.charCodeAt(i);
    const low = i > 0 ? normalised.charCodeAt(i - 1) : 0;
    // A low surrogate after a high one continues its code point.
    if (!(unit >= 0xdc00 && unit <= 0xdfff && low >= 0xd800 && low <= 0xdbff)) starts.push(i);
  }
  starts.push(normalised.length);
  const count = starts.length - 1;
  if (count <= n) {
    shingles.add(normalised);
    return shingles;
  }
  for (let i = 0; i + n <= count; i++) shingles.add(normalised.slice(starts[i], starts[i + n]));
  return shingles;
}

/** |a ∩ b| / |a ∪ b|; 1 for two empty sets. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let common = 0;
  for (const shingle of small) if (large.has(shingle)) common++;
  const union = a.size + b.size - common;
  return union === 0 ? 1 : common / union;
}
