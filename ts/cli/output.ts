/**
 * Output files that never look complete unless they are: each is written to
 * a temporary file in the same directory (`.NAME.PID.RANDOM.tmp`) and
 * renamed over NAME only when everything is written; on failure or
 * interruption the temporary file is removed. A process exit that skips the
 * cleanup (a second Ctrl-C) still removes it, from the 'exit' handler.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const liveTemporaryFiles = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', removeTemporaryFiles);
}

/** Removes every temporary file still open (synchronously: usable from an
 * 'exit' handler or a signal handler). */
export function removeTemporaryFiles(): void {
  for (const file of liveTemporaryFiles) {
    try {
      fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
  }
  liveTemporaryFiles.clear();
}

/** Writes this many characters at a time. */
const CHUNK = 1 << 20;

export class AtomicFile {
  readonly path: string;
  readonly temporaryPath: string;
  #handle: fs.promises.FileHandle | null;
  #pending: string[] = [];
  #pendingLength = 0;

  private constructor(target: string, temporaryPath: string, handle: fs.promises.FileHandle) {
    this.path = target;
    this.temporaryPath = temporaryPath;
    this.#handle = handle;
  }

  /** Creates the temporary file next to `target` (a FILE error naming the
   * directory if it cannot be created there). */
  static async create(target: string): Promise<AtomicFile> {
    installExitHook();
    const temporaryPath = path.join(path.dirname(target),
      `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await fs.promises.open(temporaryPath, 'wx', 0o644);
    liveTemporaryFiles.add(temporaryPath);
    return new AtomicFile(target, temporaryPath, handle);
  }

  async write(text: string): Promise<void> {
    this.#pending.push(text);
    this.#pendingLength += text.length;
    if (this.#pendingLength >= CHUNK) await this.#flush();
  }

  /** Flushes and closes: the temporary file is complete. */
  async finish(): Promise<void> {
    await this.#flush();
    const handle = this.#handle;
    if (handle === null) throw new Error(`${this.path}: already finished or discarded`);
    this.#handle = null;
    await handle.close();
  }

  /** Renames the finished temporary file over the target (synchronous, so
   * that several files are renamed with no event in between). */
  renameSync(): void {
    if (this.#handle !== null) throw new Error(`${this.path}: rename before finish`);
    fs.renameSync(this.temporaryPath, this.path);
    liveTemporaryFiles.delete(this.temporaryPath);
  }

  /** Closes and removes the temporary file; the target is untouched. */
  async discard(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    this.#pending = [];
    try {
      await handle?.close();
    } catch {
      // Closing failed: removing is what matters.
    }
    try {
      await fs.promises.unlink(this.temporaryPath);
    } catch {
      // Already gone.
    }
    liveTemporaryFiles.delete(this.temporaryPath);
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    if (this.#handle === null) throw new Error(`${this.path}: already finished or discarded`);
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    await this.#handle.write(text);
  }
}

/** A CSV field, quoted when it needs to be (RFC 4180). */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
