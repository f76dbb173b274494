/**
 * What a command does with bad input (docs/cli.md, "Bad input"): each one
 * is reported on stderr and skipped, counted by kind for the one line -q
 * prints instead; with --strict the first one ends the run (exit 65).
 */
import { ExitCode } from './exit-codes.ts';
import { placeOf, type BadInput } from './input.ts';
import { plural, type PhaseReporter } from './progress.ts';

/** Bad input under --strict. */
export class BadInputError extends Error {
  readonly exitCode = ExitCode.BAD_INPUT;
  readonly bad: BadInput;

  constructor(bad: BadInput) {
    super(`${placeOf(bad)}: ${bad.reason}`);
    this.name = 'BadInputError';
    this.bad = bad;
  }
}

/** Counts the skipped inputs by kind ("binary file", "empty document", ...)
 * for the one line -q prints instead of a line each. */
export class SkipCounter {
  readonly #byKind = new Map<string, number>();
  total = 0;

  add(reason: string): void {
    const kind = reason.replace(/ \(.*$/s, '').replace(/^(more than )?[\d.]+ [KMG]?i?B, /, '');
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1);
    this.total++;
  }

  summary(): string {
    const kinds = [...this.#byKind].map(([kind, count]) => `${kind}: ${count}`).join(', ');
    return `knowhere-rs: ${plural(this.total, 'input')} skipped (${kinds}); run without -q to see each`;
  }
}

/** The handler of bad input: throws under --strict, else reports and
 * counts. */
export function badInputHandler(options: { readonly strict: boolean }, reporter: PhaseReporter, skips: SkipCounter):
  (bad: BadInput) => void {
  return (bad) => {
    if (options.strict) throw new BadInputError(bad);
    skips.add(bad.reason);
    reporter.message(`knowhere-rs: skipped ${placeOf(bad)}: ${bad.reason}`);
  };
}
