/**
 * The glob patterns of --include and --exclude (docs/cli.md, "Choosing
 * files"). Node's path.matchesGlob is experimental in Node 20 (it prints a
 * warning), so patterns are translated to regular expressions here:
 *
 *   *        any characters but /          ?      one character but /
 *   [abc]    one of a, b, c                [a-z]  a range; [!...] or [^...] negates
 *   **       as a whole segment: any number of directories (none included)
 *   \x       the character x itself
 *
 * A pattern without a / is matched against a base name; a pattern with one
 * against the path below the directory given on the command line. `*` and
 * `?` match a leading dot too (unlike a shell). Matching is case-sensitive.
 */

export class GlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobError';
  }
}

export interface Glob {
  readonly pattern: string;
  /** Whether it matches paths (it has a /) rather than base names. */
  readonly matchesPaths: boolean;
  readonly regex: RegExp;
}

/** A character as itself in a regular expression ('u' mode allows only
 * these escapes outside a class). */
const escapeRegex = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
/** The same inside a class, where - is special too. */
const escapeInClass = (c: string): string => (c === '-' ? '\\-' : escapeRegex(c));

/** `[...]` starting at pattern[at] === '[': the class and where it ends. */
function characterClass(pattern: string, at: number): { source: string; end: number } {
  let i = at + 1;
  let source = '[';
  if (pattern[i] === '!' || pattern[i] === '^') {
    source += '^';
    i++;
  }
  // A ] right after [ (or [!) is a member, as in shells.
  let first = true;
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === ']' && !first) return { source: `${source}]`, end: i };
    first = false;
    if (c === '\\' && i + 1 < pattern.length) source += escapeInClass(pattern[++i]!);
    else if (c === '-' && source !== '[' && source !== '[^' && pattern[i + 1] !== ']') source += '-';
    else source += escapeInClass(c);
  }
  throw new GlobError('unterminated [');
}

/** The regular expression source of one path segment (no /). */
function segmentSource(segment: string): string {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const cls = characterClass(segment, i);
      source += cls.source;
      i = cls.end;
    } else if (c === '\\') {
      if (i + 1 === segment.length) throw new GlobError('a trailing \\');
      source += escapeRegex(segment[++i]!);
    } else source += escapeRegex(c);
  }
  return source;
}

/** Compiles a pattern; GlobError for a malformed one. */
export function compileGlob(pattern: string): Glob {
  if (pattern === '') throw new GlobError('empty pattern');
  const trimmed = pattern.replace(/^\/+/, '');
  const matchesPaths = pattern.includes('/');
  const segments = trimmed.split('/').filter((s, i, all) => s !== '' || i === all.length - 1);
  let source = '';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '**') {
      // Any number of directories; at the end, anything below.
      source += last ? '.*' : '(?:[^/]*/)*';
    } else if (segment === '' && last) {
      // A trailing /: what follows it (anything below that directory).
      source += '.*';
    } else {
      source += segmentSource(segment) + (last ? '' : '/');
    }
  }
  return { pattern, matchesPaths, regex: new RegExp(`^${source}$`, 'su') };
}

/** Whether `glob` matches the file or directory at `relative` (below the
 * directory given), whose base name is `name`. */
export function globMatches(glob: Glob, relative: string, name: string): boolean {
  return glob.regex.test(glob.matchesPaths ? relative : name);
}
