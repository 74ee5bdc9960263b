import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { WatchStatusError, classifyApiError, kindForStatus } from './errors.js';

const statusBody = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

describe('classifyApiError', () => {
  it.each([
    [404, 'NotFound'],
    [409, 'Conflict'],
    [422, 'Invalid'],
    [400, 'Invalid'],
    [403, 'Forbidden'],
    [401, 'Forbidden'],
    [410, 'Gone'],
    [429, 'Transient'],
    [500, 'Transient'],
    [503, 'Transient'],
  ] as const)('ApiException %i is %s and carries the Status message', (code, kind) => {
    const err = new ApiException(code, 'Unsuccessful HTTP Request', statusBody(code, 'X', `message for ${code}`), {});
    expect(classifyApiError(err)).toEqual({ kind, status: code, message: `message for ${code}` });
  });

  it('accepts a body that is already an object', () => {
    const err = new ApiException(409, 'Unsuccessful HTTP Request', { kind: 'Status', message: 'the object has been modified' }, {});
    expect(classifyApiError(err)).toEqual({ kind: 'Conflict', status: 409, message: 'the object has been modified' });
  });

  it('keeps a non-JSON body as the message instead of throwing', () => {
    const err = new ApiException(502, 'Unsuccessful HTTP Request', '<html>bad gateway</html>', {});
    expect(classifyApiError(err)).toEqual({ kind: 'Transient', status: 502, message: '<html>bad gateway</html>' });
  });

  it('falls back to the HTTP status when the body is empty', () => {
    const err = new ApiException(404, 'Unsuccessful HTTP Request', '', {});
    expect(classifyApiError(err)).toEqual({ kind: 'NotFound', status: 404, message: 'HTTP 404' });
  });

  it('reads the statusCode the Watch puts on its HTTP errors', () => {
    const err = Object.assign(new Error('Gone'), { statusCode: 410 });
    expect(classifyApiError(err)).toEqual({ kind: 'Gone', status: 410, message: 'HTTP 410: Gone' });
  });

  it('classifies a Status object from a watch ERROR event', () => {
    const status = JSON.parse(statusBody(410, 'Expired', 'too old resource version: 1 (42)')) as unknown;
    expect(classifyApiError(status)).toEqual({ kind: 'Gone', status: 410, message: 'too old resource version: 1 (42)' });
  });

  it('classifies WatchStatusError by its status', () => {
    expect(classifyApiError(new WatchStatusError(410, 'expired'))).toEqual({ kind: 'Gone', status: 410, message: 'expired' });
    expect(classifyApiError(new WatchStatusError(500, 'boom')).kind).toBe('Transient');
  });

  it('treats socket errors and odd values as Transient', () => {
    const econnrefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyApiError(econnrefused)).toEqual({ kind: 'Transient', message: 'connect ECONNREFUSED 127.0.0.1:1' });
    expect(classifyApiError('plain string')).toEqual({ kind: 'Transient', message: 'plain string' });
    expect(classifyApiError(undefined).kind).toBe('Transient');
    expect(classifyApiError(null).kind).toBe('Transient');
  });

  it('maps statuses it does not know to Transient', () => {
    expect(kindForStatus(undefined)).toBe('Transient');
    expect(kindForStatus(418)).toBe('Transient');
  });
});
