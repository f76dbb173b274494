/**
 * Unit tests of the CLI's helpers for issue 11: the --include/--exclude
 * globs (ts/cli/glob.ts), names as bytes (ts/cli/names.ts) and long
 * timeouts (ts/cli/timer.ts).
 */
import { expect } from 'chai';

import { GlobError, compileGlob, globMatches } from '../ts/cli/glob.ts';
import { csvBytes, decodeName, keepEntry } from '../ts/cli/names.ts';
import { setLongTimeout } from '../ts/cli/timer.ts';

const matches = (pattern: string, relative: string): boolean =>
  globMatches(compileGlob(pattern), relative, relative.slice(relative.lastIndexOf('/') + 1));

describe('CLI globs', () => {
  it('*, ? and classes stay within a segment; a pattern without / matches base names', () => {
    expect(matches('*.txt', 'a.txt')).to.equal(true);
    expect(matches('*.txt', 'deep/er/a.txt')).to.equal(true);
    expect(matches('*.txt', 'a.txt.gz')).to.equal(false);
    expect(matches('*', '.hidden')).to.equal(true);
    expect(matches('?.md', 'ab.md')).to.equal(false);
    expect(matches('[ab]*', 'b1')).to.equal(true);
    expect(matches('[!ab]*', 'b1')).to.equal(false);
    expect(matches('[^ab]*', 'c1')).to.equal(true);
    expect(matches('[a-c]x', 'bx')).to.equal(true);
    expect(matches('[]]x', ']x')).to.equal(true);
    expect(matches('[a-]x', '-x')).to.equal(true);
    expect(matches('\\*.txt', '*.txt')).to.equal(true);
    expect(matches('\\*.txt', 'a.txt')).to.equal(false);
    expect(matches('a.(b)+', 'a.(b)+')).to.equal(true);
    expect(matches('A*', 'a1')).to.equal(false);
  });

  it('a pattern with / matches the path below the directory; ** spans directories', () => {
    expect(matches('sub/*.txt', 'sub/a.txt')).to.equal(true);
    expect(matches('sub/*.txt', 'sub/deep/a.txt')).to.equal(false);
    expect(matches('sub/*.txt', 'x/sub/a.txt')).to.equal(false);
    expect(matches('/sub/*.txt', 'sub/a.txt')).to.equal(true);
    expect(matches('**/*.txt', 'a.txt')).to.equal(true);
    expect(matches('**/*.txt', 'x/y/a.txt')).to.equal(true);
    expect(matches('a/**/b', 'a/b')).to.equal(true);
    expect(matches('a/**/b', 'a/x/y/b')).to.equal(true);
    expect(matches('a/**/b', 'a/x/y/c')).to.equal(false);
    expect(matches('src/**', 'src/x/y.c')).to.equal(true);
    expect(matches('src/', 'src/x/y.c')).to.equal(true);
    expect(matches('src/**', 'srcx/y.c')).to.equal(false);
    // Names with a newline or stray bytes (as \udcXX) match * too.
    expect(matches('*.txt', 'c\nd.txt')).to.equal(true);
    expect(matches('0?.txt', '0\udcff.txt')).to.equal(true);
  });

  it('malformed patterns are GlobErrors', () => {
    expect(() => compileGlob('[a-')).to.throw(GlobError, 'unterminated [');
    expect(() => compileGlob('a\\')).to.throw(GlobError, 'a trailing \\');
    expect(() => compileGlob('')).to.throw(GlobError, 'empty pattern');
  });
});

describe('CLI names as bytes', () => {
  const bytes = (...b: number[]): Buffer => Buffer.from(b);

  it('decodeName: UTF-8 as text, every stray byte as U+DC00 + byte', () => {
    expect(decodeName(Buffer.from('héllo €𝄞'))).to.equal('héllo €𝄞');
    expect(decodeName(bytes(0x30, 0xff, 0x2e))).to.equal('0\udcff.');
    // Overlong, surrogate, above U+10FFFF, truncated: byte by byte.
    expect(decodeName(bytes(0xc0, 0xaf))).to.equal('\udcc0\udcaf');
    expect(decodeName(bytes(0xe0, 0x80, 0xaf))).to.equal('\udce0\udc80\udcaf');
    expect(decodeName(bytes(0xed, 0xa0, 0x80))).to.equal('\udced\udca0\udc80');
    expect(decodeName(bytes(0xf4, 0x90, 0x80, 0x80))).to.equal('\udcf4\udc90\udc80\udc80');
    expect(decodeName(bytes(0x61, 0xe2, 0x82))).to.equal('a\udce2\udc82');
    expect(decodeName(Buffer.concat([bytes(0xff), Buffer.from('é')]))).to.equal('\udcffé');
  });

  it('keepEntry: names as they are; control characters or a leading " quoted with C escapes; --null', () => {
    expect(keepEntry(Buffer.from('dir/a b.txt'), false).toString()).to.equal('dir/a b.txt\n');
    expect(keepEntry(Buffer.from('dir/say "hi"\\x'), false).toString()).to.equal('dir/say "hi"\\x\n');
    expect(keepEntry(Buffer.from('"q'), false).toString()).to.equal('"\\"q"\n');
    expect(keepEntry(Buffer.from('a\nb\tc\r\\\x01\x7f'), false).toString())
      .to.equal('"a\\nb\\tc\\r\\\\\\001\\177"\n');
    expect(keepEntry(bytes(0xff, 0x0a), false)).to.deep.equal(Buffer.concat([bytes(0x22, 0xff), Buffer.from('\\n"\n')]));
    expect(keepEntry(Buffer.from('a\nb'), true)).to.deep.equal(Buffer.from('a\nb\0'));
  });

  it('csvBytes: quoted when it holds ", comma, CR or LF; the bytes kept', () => {
    expect(csvBytes(bytes(0x61, 0xff)).equals(bytes(0x61, 0xff))).to.equal(true);
    expect(csvBytes(Buffer.from('a,b')).toString()).to.equal('"a,b"');
    expect(csvBytes(Buffer.from('say "hi"')).toString()).to.equal('"say ""hi"""');
    expect(csvBytes(Buffer.from('a\nb')).toString()).to.equal('"a\nb"');
  });
});

describe('CLI long timeouts', () => {
  it('a delay beyond 2^31 ms is armed without firing; a short one fires; clear() cancels', async () => {
    let fired = 0;
    const long = setLongTimeout(3_000_000_000, () => { fired++; });
    const short = new Promise<void>((resolve) => { setLongTimeout(5, resolve); });
    const cleared = setLongTimeout(5, () => { fired++; });
    cleared.clear();
    await short;
    await new Promise((resolve) => setTimeout(resolve, 30));
    long.clear();
    expect(fired).to.equal(0);
  });
});
