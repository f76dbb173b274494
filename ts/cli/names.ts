/**
 * Document names as bytes. A file name on Linux is any bytes but / and NUL:
 * not always UTF-8, and it may hold a newline. Names are kept as the bytes
 * read from the directory and written so that they can be recovered
 * (docs/cli.md, "Names"):
 *
 *  - in JSON, each byte that is not part of valid UTF-8 becomes the lone
 *    surrogate U+DC00 + byte (`\udcff`), Python's "surrogateescape"
 *    (os.fsencode gives the bytes back);
 *  - in CSV and in the keep list, the bytes as they are;
 *  - in the keep list without --null, a name that starts with `"` or holds
 *    a control character (a newline, a tab, ...) is written in double
 *    quotes with C escapes, as `git ls-files` writes such names.
 */

const strict = new TextDecoder('utf-8', { fatal: true });

/** The length of the valid UTF-8 sequence at bytes[i], or 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const continuation = (k: number): boolean => i + k < bytes.length && (bytes[i + k]! & 0xc0) === 0x80;
  if (b >= 0xc2 && b <= 0xdf) return continuation(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const c1 = bytes[i + 1] ?? 0;
    // No overlong forms (E0 80..9F) and no surrogates (ED A0..BF).
    if ((b === 0xe0 && c1 < 0xa0) || (b === 0xed && c1 > 0x9f)) return 0;
    return continuation(1) && continuation(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const c1 = bytes[i + 1] ?? 0;
    // No overlong forms (F0 80..8F), nothing above U+10FFFF (F4 90..).
    if ((b === 0xf0 && c1 < 0x90) || (b === 0xf4 && c1 > 0x8f)) return 0;
    return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

/** The name's text: UTF-8, with each stray byte as U+DC00 + byte. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // Not UTF-8: decode piece by piece.
  }
  let text = '';
  let start = 0;
  for (let i = 0; i < bytes.length;) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += strict.decode(bytes.subarray(start, i)) + String.fromCharCode(0xdc00 + bytes[i]!);
    start = ++i;
  }
  return text + strict.decode(bytes.subarray(start));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const C_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x07, '\\a'], [0x08, '\\b'], [0x09, '\\t'], [0x0a, '\\n'], [0x0b, '\\v'], [0x0c, '\\f'], [0x0d, '\\r'],
  [QUOTE, '\\"'], [BACKSLASH, '\\\\'],
]);

const isControl = (b: number): boolean => b < 0x20 || b === 0x7f;

/** Whether a keep-list line needs quotes to stand for this name. */
function needsQuotes(name: Uint8Array): boolean {
  return name[0] === QUOTE || name.some(isControl);
}

/** The same for a name given as text. */
const TEXT_NEEDS_QUOTES = /^"|[\x00-\x1f\x7f]/;

/** `"..."` with C escapes: \n, \t, \", \\, ..., \ooo for other control bytes. */
function quoted(name: Uint8Array): Buffer {
  const parts: (Uint8Array | string)[] = ['"'];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const b = name[i]!;
    if (!isControl(b) && b !== QUOTE && b !== BACKSLASH) continue;
    parts.push(name.subarray(start, i), C_ESCAPES.get(b) ?? `\\${b.toString(8).padStart(3, '0')}`);
    start = i + 1;
  }
  parts.push(name.subarray(start), '"');
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

const NEWLINE = Buffer.from('\n');
const NUL = Buffer.from([0]);

/** One entry of the keep list: the name and a newline (quoted if it must
 * be), or with `nul` the name as it is and a NUL byte. */
export function keepEntry(name: Uint8Array, nul: boolean): Buffer {
  if (nul) return Buffer.concat([name, NUL]);
  return Buffer.concat([needsQuotes(name) ? quoted(name) : name, NEWLINE]);
}

/** keepEntry for a name whose bytes are its UTF-8 `text`: text when no
 * quoting is needed (the common case, without a Buffer per name). */
export function keepEntryOfText(text: string, nul: boolean): string | Buffer {
  if (nul) return `${text}\0`;
  return TEXT_NEEDS_QUOTES.test(text) ? keepEntry(Buffer.from(text), false) : `${text}\n`;
}

const CSV_SPECIAL = new Set([0x22, 0x2c, 0x0d, 0x0a]);

/** A CSV field of raw bytes, quoted when it needs to be (RFC 4180). */
export function csvBytes(name: Uint8Array): Buffer {
  if (!name.some((b) => CSV_SPECIAL.has(b))) return Buffer.from(name);
  const parts: Uint8Array[] = [Buffer.from('"')];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== QUOTE) continue;
    parts.push(name.subarray(start, i + 1), Buffer.from('"'));
    start = i + 1;
  }
  parts.push(name.subarray(start), Buffer.from('"'));
  return Buffer.concat(parts);
}
