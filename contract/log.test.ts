// The configured logger's redaction: objects carrying secrets in every shape the code logs, none of them printed.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED } from './log.js';

const SECRET = 'hunter2-s3cret-VALUE';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger redaction', () => {
  it.each([
    ['a top-level password', { password: SECRET }],
    ['a token', { token: SECRET }],
    ['the admin status token in a config', { config: { admin: { statusToken: SECRET } } }],
    ['a config with users', { config: { auth: { users: [{ username: 'app', password: SECRET }] } } }],
    ['users at the top', { users: [{ username: 'app', password: SECRET }] }],
    ['an Authorization header', { req: { headers: { authorization: `Bearer ${SECRET}` } } }],
    ['an Authorization header, capitalized', { options: { headers: { Authorization: `Bearer ${SECRET}` } } }],
    ['an error carrying response headers', { err: { message: 'HTTP 401', headers: { authorization: SECRET } } }],
    ['startup parameters with a password', { startupParams: { user: 'app', password: SECRET } }],
    ['a SASL payload', { sasl: `n,,n=app,r=${SECRET}` }],
    ['a SCRAM client proof', { auth: { clientProof: SECRET } }],
    ['a Secret object', { secret: { metadata: { name: 'x' }, data: { 'config.yaml': SECRET } } }],
    ['a Secret object under object', { object: { kind: 'Secret', data: { token: SECRET } } }],
    ['stringData', { body: { stringData: { token: SECRET } } }],
    ['a kubeconfig user', { user: { token: SECRET, clientKey: SECRET } }],
    ['deeply nested', { a: { b: { c: { password: SECRET } } } }],
  ])('%s', (_, obj) => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'trace' }, stream);
    log.info(obj, 'something happened');
    log.debug({ nested: obj }, 'and again, nested');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).not.toContain(SECRET);
      expect(l).toContain(REDACTED);
      expect(JSON.parse(l)).toHaveProperty('msg');
    }
  });

  it('keeps the fields that are not secrets', () => {
    const { lines, stream } = capture();
    createLogger({ level: 'info' }, stream).info({ user: 'app', database: 'orders', client: '10.0.0.1:5000', password: SECRET }, 'login');
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ user: 'app', database: 'orders', client: '10.0.0.1:5000', password: REDACTED });
  });

  it('redacts in child loggers too', () => {
    const { lines, stream } = capture();
    createLogger({ level: 'info' }, stream).child({ component: 'x' }).warn({ token: SECRET }, 'child');
    expect(lines[0]).not.toContain(SECRET);
  });

  it('redacts fields of errors and keeps their message, and never changes the logged object', () => {
    const { lines, stream } = capture();
    const err = Object.assign(new Error('HTTP 422'), { body: { kind: 'Secret', data: { token: SECRET } }, headers: { authorization: SECRET } });
    const obj = { err, config: { admin: { statusToken: SECRET } } };
    createLogger({ level: 'info' }, stream).error(obj, 'apply failed');
    expect(lines[0]).not.toContain(SECRET);
    expect(JSON.parse(lines[0]!)).toMatchObject({ err: { message: 'HTTP 422' } });
    expect(obj.config.admin.statusToken).toBe(SECRET);
    expect((err as unknown as { headers: { authorization: string } }).headers.authorization).toBe(SECRET);
  });
});
