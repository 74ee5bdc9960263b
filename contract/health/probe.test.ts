import { describe, expect, it } from 'vitest';
import { classifyProbeError } from './probe.js';

const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('classifyProbeError', () => {
  it.each([
    ['wrong password', err('password authentication failed for user "app"', '28P01'), 'AUTH_FAILURE'],
    ['rejected by pg_hba', err('pg_hba.conf rejects connection', '28000'), 'AUTH_FAILURE'],
    ['connection refused', err('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'UNREACHABLE'],
    ['unknown host', err('getaddrinfo ENOTFOUND nowhere.invalid', 'ENOTFOUND'), 'UNREACHABLE'],
    ['DNS not answering', err('getaddrinfo EAI_AGAIN db', 'EAI_AGAIN'), 'UNREACHABLE'],
    ['no route', err('connect EHOSTUNREACH 10.0.0.1:5432', 'EHOSTUNREACH'), 'UNREACHABLE'],
    ['connect timeout (pg)', err('timeout expired'), 'TIMEOUT'],
    ['connection timeout (pg)', err('Connection terminated due to connection timeout'), 'TIMEOUT'],
    ['query timeout (pg)', err('Query read timeout'), 'TIMEOUT'],
    ['database missing', err('database "nope" does not exist', '3D000'), 'CONNECTION_FAILED'],
    ['server starting up', err('the database system is starting up', '57P03'), 'CONNECTION_FAILED'],
    ['too many clients', err('sorry, too many clients already', '53300'), 'CONNECTION_FAILED'],
    ['peer hung up', err('Connection terminated unexpectedly'), 'CONNECTION_FAILED'],
  ])('%s → %s', (_name, e, reason) => {
    const got = classifyProbeError(e);
    expect(got.reason).toBe(reason);
    expect(got.message).toBe(e.message);
  });

  it('handles something that is not an Error', () => {
    expect(classifyProbeError('boom')).toEqual({ reason: 'CONNECTION_FAILED', message: 'boom' });
    expect(classifyProbeError(undefined)).toEqual({ reason: 'CONNECTION_FAILED', message: 'undefined' });
  });
});
