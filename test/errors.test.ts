/**
 * Status numbers and error classes against knowhere_rs.h, and the version
 * functions against the header's constants.
 */
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import {
  InterruptedError, KnowhereError, Status, TimeoutError, abiVersion, version, versionNumber,
} from '../ts/index.ts';
import { errorForStatus, statusCode, throwIfFailed } from '../ts/errors.ts';
import { BINDING_ABI_VERSION, native, newErrorOut, type ErrorPtr } from '../ts/native.ts';

const header = readFileSync(new URL('../knowhere_rs.h', import.meta.url), 'utf8');

/** `#define NAME <integer>` lines of the header. */
function headerIntegers(): Map<string, number> {
  const defines = new Map<string, number>();
  for (const match of header.matchAll(/^#define\s+(\w+)\s+(\d+)\b/gm)) {
    defines.set(match[1]!, Number(match[2]));
  }
  return defines;
}

function headerString(name: string): string {
  const match = new RegExp(`^#define\\s+${name}\\s+"([^"]*)"`, 'm').exec(header);
  if (match === null) expect.fail(`${name} not found in knowhere_rs.h`);
  return match[1]!;
}

/** Status name (as in `Status`) to number, from the header's KNOWHERE_OK /
 * KNOWHERE_ERR_* defines. */
function headerStatuses(): Map<string, number> {
  const statuses = new Map<string, number>();
  for (const [name, value] of headerIntegers()) {
    if (name === 'KNOWHERE_OK') statuses.set('OK', value);
    else if (name.startsWith('KNOWHERE_ERR_')) statuses.set(name.slice('KNOWHERE_ERR_'.length), value);
  }
  return statuses;
}

describe('errors: status codes', () => {
  it('Status has exactly the codes of knowhere_rs.h, with the same numbers', () => {
    const fromHeader = headerStatuses();
    expect(fromHeader.size).to.be.at.least(11);
    expect(Object.fromEntries(fromHeader)).to.deep.equal({ ...Status });
  });

  it('each status maps to its code string', () => {
    const expected: Record<number, string> = {
      0: 'OK', 1: 'ERR_INVALID_ARG', 6: 'ERR_EMPTY_INDEX', 7: 'ERR_NOT_IMPLEMENTED', 13: 'ERR_NO_MEMORY',
      15: 'ERR_FILE', 17: 'ERR_OVERFLOW', 26: 'ERR_TIMEOUT', 27: 'ERR_INTERNAL', 100: 'ERR_INTERRUPTED',
      101: 'ERR_BUSY', 102: 'ERR_CORRUPT',
    };
    for (const [status, code] of Object.entries(expected)) {
      expect(statusCode(Number(status)), `status ${status}`).to.equal(code);
      expect(new KnowhereError(Number(status), 'm').code).to.equal(code);
    }
    expect(statusCode(42)).to.equal('ERR_UNKNOWN');
  });

  it('the library has static text for every status', () => {
    expect(native.statusString(Status.INVALID_ARG)).to.equal('invalid argument');
    expect(native.statusString(Status.BUSY)).to.equal('object is busy');
    expect(native.statusString(12345)).to.equal('unknown status');
  });
});

describe('errors: KnowhereError and InterruptedError classes', () => {
  it('KnowhereError carries status, code, name and message', () => {
    const error = new KnowhereError(Status.EMPTY_INDEX, 'nothing to search');
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal('KnowhereError');
    expect(error.message).to.equal('nothing to search');
    expect(error.status).to.equal(6);
    expect(error.code).to.equal('ERR_EMPTY_INDEX');
    expect(error.isInterrupted()).to.equal(false);
    expect(String(error)).to.equal('KnowhereError: nothing to search');
  });

  it('isInterrupted() is true exactly for INTERRUPTED and TIMEOUT', () => {
    for (const status of Object.values(Status)) {
      const expected = status === Status.INTERRUPTED || status === Status.TIMEOUT;
      expect(new KnowhereError(status, 'x').isInterrupted(), `status ${status}`).to.equal(expected);
    }
  });

  it('InterruptedError is a KnowhereError with status 100 and keeps its cause', () => {
    const reason = new Error('user pressed cancel');
    const error = new InterruptedError('build cancelled', { cause: reason });
    expect(error).to.be.instanceOf(KnowhereError);
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal('InterruptedError');
    expect(error.message).to.equal('build cancelled');
    expect(error.status).to.equal(Status.INTERRUPTED);
    expect(error.code).to.equal('ERR_INTERRUPTED');
    expect(error.isInterrupted()).to.equal(true);
    expect(error.cause).to.equal(reason);
    expect(new InterruptedError().message).to.equal('operation interrupted');
  });

  it('TimeoutError, for TIMEOUT, fits under InterruptedError', () => {
    const error = new TimeoutError('too slow');
    expect(error).to.be.instanceOf(InterruptedError);
    expect(error.name).to.equal('TimeoutError');
    expect(error.status).to.equal(26);
    expect(error.code).to.equal('ERR_TIMEOUT');
    expect(error.isInterrupted()).to.equal(true);
    expect(error.isTimeout()).to.equal(true);
  });

  it('errorForStatus picks InterruptedError for INTERRUPTED and TIMEOUT, KnowhereError otherwise', () => {
    expect(errorForStatus(Status.INTERRUPTED, 'm')).to.be.instanceOf(InterruptedError);
    expect(errorForStatus(Status.INTERRUPTED, 'm')).to.not.be.instanceOf(TimeoutError);
    const timeout = errorForStatus(Status.TIMEOUT, 'm');
    expect(timeout).to.be.instanceOf(InterruptedError);
    expect(timeout).to.be.instanceOf(TimeoutError);
    expect(timeout.status).to.equal(Status.TIMEOUT);
    const busy = errorForStatus(Status.BUSY, 'm');
    expect(busy).to.be.instanceOf(KnowhereError);
    expect(busy).to.not.be.instanceOf(InterruptedError);
    expect(busy.status).to.equal(Status.BUSY);
  });
});

describe('errors: C error objects become exceptions', () => {
  it('throwIfFailed uses the message and code of the C error object and clears the out-parameter', () => {
    const err = newErrorOut();
    expect(native.errorSet(err, Status.INTERNAL, 'something broke at row 7')).to.equal(Status.INTERNAL);
    expect(err[0]).to.be.a('bigint');
    expect(native.errorCode(err[0] as ErrorPtr)).to.equal(Status.INTERNAL);
    let caught: unknown;
    try {
      throwIfFailed(Status.INTERNAL, err);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(KnowhereError);
    expect((caught as KnowhereError).status).to.equal(Status.INTERNAL);
    expect((caught as KnowhereError).message).to.equal('something broke at row 7');
    expect(err[0]).to.equal(0n); // freed and forgotten: cannot be freed twice
  });

  it('throwIfFailed without an error object uses the status text', () => {
    expect(() => throwIfFailed(Status.OVERFLOW, newErrorOut())).to.throw(KnowhereError, 'arithmetic overflow');
  });

  it('throwIfFailed returns for OK and attaches a cause only to cancellations', () => {
    expect(() => throwIfFailed(Status.OK, newErrorOut())).to.not.throw();
    const reason = new Error('why');
    const err = newErrorOut();
    native.errorSet(err, Status.INTERRUPTED, null);
    try {
      throwIfFailed(Status.INTERRUPTED, err, { interruptCause: reason });
      expect.fail('expected an exception');
    } catch (error) {
      expect(error).to.be.instanceOf(InterruptedError);
      expect((error as InterruptedError).message).to.equal('interrupted');
      expect((error as InterruptedError).cause).to.equal(reason);
    }
    try {
      throwIfFailed(Status.INVALID_ARG, newErrorOut(), { interruptCause: reason });
      expect.fail('expected an exception');
    } catch (error) {
      expect((error as KnowhereError).cause).to.equal(undefined);
    }
  });
});

describe('errors: library version', () => {
  it('version() is KNOWHERE_RS_VERSION_STRING', () => {
    expect(version()).to.equal(headerString('KNOWHERE_RS_VERSION_STRING'));
  });

  it('versionNumber() is MAJOR * 10000 + MINOR * 100 + PATCH', () => {
    const defines = headerIntegers();
    const expected = defines.get('KNOWHERE_RS_VERSION_MAJOR')! * 10000 +
      defines.get('KNOWHERE_RS_VERSION_MINOR')! * 100 + defines.get('KNOWHERE_RS_VERSION_PATCH')!;
    expect(versionNumber()).to.equal(expected);
  });

  it('abiVersion() is KNOWHERE_RS_ABI_VERSION, the one the binding was written for', () => {
    const abi = headerIntegers().get('KNOWHERE_RS_ABI_VERSION');
    expect(abi).to.be.a('number');
    expect(abiVersion()).to.equal(abi);
    expect(BINDING_ABI_VERSION).to.equal(abi);
  });
});
