/**
 * Binding-internal: exit does not wait for native work.
 *
 * Node waits for the native calls still running when a thread ends: on
 * process.exit() libuv joins its thread pool, and a Worker that ends
 * (worker.terminate(), or the process exiting) is freed only once its
 * pending calls have returned. Nothing interrupted them, so exiting took as
 * long as the longest call: seconds.
 *
 * So every async call runs with a flag of its own that is linked
 * (knowhere_interrupt_create_linked) to the caller's Interrupt, if any, and
 * to this thread's exit flag, which is set when the thread ends:
 *
 *  - on this thread's 'exit' event: process.exit() (in the main thread or in
 *    a Worker), or the thread's event loop running out of work;
 *  - for a Worker stopped from outside (worker.terminate(), or the process
 *    exiting), where no JS runs in the Worker any more: by the main thread.
 *    When the binding is loaded in the main thread it says so to every
 *    Worker started afterwards (worker_threads environment data); such a
 *    Worker's binding sends the main thread a clone of its exit flag and one
 *    end of a MessageChannel (postMessageToThread). A Worker's ports close
 *    as its teardown begins, before Node waits for its calls, and the main
 *    thread then sets the Worker's exit flag. The main thread's own 'exit'
 *    sets the flags of every Worker it watches, before Node stops them.
 *
 * Setting an exit flag never sets the caller's Interrupt: that one may be
 * shared with other threads (share()), whose calls must go on.
 *
 * Without the binding in the main thread (or on a Node without
 * postMessageToThread), a terminated Worker still waits for its calls.
 */
import {
  MessageChannel, getEnvironmentData, isMainThread, setEnvironmentData, type MessagePort,
} from 'node:worker_threads';
import * as workerThreads from 'node:worker_threads';

import { KnowhereError, Status } from './errors.ts';
import { native, type InterruptPtr } from './native.ts';

/** The environment-data key saying the main thread watches Workers, and the
 * key of the registration message. */
const WATCHING = 'knowhere-rs:watching-workers';
const REGISTRATION = 'knowhere-rs:worker-exit-flag';

/** Node >= 20.19 / 22.5 (engines allows no older 20.x, but stay safe). */
const postMessageToThread = (workerThreads as { postMessageToThread?: unknown }).postMessageToThread as
  ((threadId: number, value: unknown, transferList?: readonly unknown[]) => Promise<void>) | undefined;

let exitFlag: InterruptPtr | null = null;

/** The ends of the channel whose closing tells the main thread this Worker
 * is gone: held for the thread's life (a collected port would close). */
let lifeline: MessagePort | null = null;

/** In the main thread: the exit flags (clones) of the Workers it watches,
 * with their ports (held here: an unreferenced port could be collected
 * and its 'close' never come). */
const watchedWorkers = new Map<InterruptPtr, MessagePort>();

/**
 * This thread's exit flag, created on the first async call; every call's
 * own flag is linked to it. It lives as long as the thread.
 */
export function threadExitFlag(): InterruptPtr {
  if (exitFlag !== null) return exitFlag;
  const flag = native.interruptCreate();
  if (flag === null) throw new KnowhereError(Status.NO_MEMORY, 'out of memory while creating an interrupt');
  exitFlag = flag;
  if (!isMainThread) registerWithMainThread(flag);
  return flag;
}

/** Sets this thread's exit flag, and in the main thread those of the
 * Workers (Node stops them after the 'exit' listeners ran). */
function interruptAtExit(): void {
  if (exitFlag !== null) native.interruptInterrupt(exitFlag);
  for (const flag of watchedWorkers.keys()) native.interruptInterrupt(flag);
}

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

interface Registration {
  readonly [REGISTRATION]: { readonly flag: bigint; readonly port: MessagePort };
}

function isRegistration(value: unknown): value is Registration {
  if (typeof value !== 'object' || value === null || !(REGISTRATION in value)) return false;
  const body = (value as Registration)[REGISTRATION];
  return typeof body === 'object' && body !== null && typeof body.flag === 'bigint' &&
    body.port instanceof workerThreads.MessagePort;
}

/** In a Worker: hands the main thread a clone of the exit flag and the
 * other end of a channel that closes when this Worker goes. */
function registerWithMainThread(flag: InterruptPtr): void {
  if (postMessageToThread === undefined || getEnvironmentData(WATCHING) !== true) return;
  const clone = native.interruptClone(flag);
  if (clone === null) return; // out of memory: terminate() will wait, as before
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  lifeline = port1;
  postMessageToThread(0, { [REGISTRATION]: { flag: clone, port: port2 } }, [port2]).catch(() => {
    // Not delivered (the main thread is gone or stopped listening): the
    // clone is still ours.
    native.interruptFree(clone);
    lifeline?.close();
    lifeline = null;
  });
}

/** In the main thread: takes over a Worker's exit flag until its channel
 * closes. */
function adoptWorker(value: unknown): void {
  if (!isRegistration(value)) return;
  const { flag, port } = value[REGISTRATION];
  const handle = flag as InterruptPtr;
  watchedWorkers.set(handle, port);
  port.once('close', () => {
    watchedWorkers.delete(handle);
    native.interruptInterrupt(handle);
    native.interruptFree(handle);
  });
  port.unref();
}

process.once('exit', interruptAtExit);
if (isMainThread && postMessageToThread !== undefined) {
  setEnvironmentData(WATCHING, true);
  process.on('workerMessage', adoptWorker);
}
