// Who may read /status: the rules of admin-auth.ts, table-driven.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configuredStatusToken, isLoopback, presentedToken, statusVerdict, tokenMatches } from './admin-auth.js';

const TOKEN = 'a-token-of-32-characters-exactly';

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['fd00::2', false],
    ['1127.0.0.1', false],
    ['127.0.0.1.evil', false],
    [undefined, false],
  ])('%s → %s', (addr, want) => expect(isLoopback(addr)).toBe(want));
});

describe('presentedToken', () => {
  it.each([
    [{ authorization: `Bearer ${TOKEN}` }, TOKEN],
    [{ authorization: `bearer ${TOKEN}` }, TOKEN],
    [{ authorization: `Basic ${TOKEN}` }, undefined],
    [{ authorization: 'Bearer' }, undefined],
    [{ authorization: 'Bearer a b' }, undefined],
    [{ 'x-dbproxy-admin-token': ` ${TOKEN} ` }, TOKEN],
    [{ 'x-dbproxy-admin-token': '' }, undefined],
    [{}, undefined],
  ])('%j → %s', (headers, want) => expect(presentedToken(headers)).toBe(want));
});

describe('tokenMatches', () => {
  it.each([
    [TOKEN, TOKEN, true],
    [TOKEN.slice(0, -1), TOKEN, false],
    [TOKEN + 'x', TOKEN, false],
    ['', TOKEN, false],
    [TOKEN.toUpperCase(), TOKEN, false],
  ])('%s vs %s → %s', (given, expected, want) => expect(tokenMatches(given, expected)).toBe(want));
});

describe('statusVerdict', () => {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  it.each([
    ['no token configured: open', '10.0.0.1', {}, undefined, { ok: true }],
    ['loopback needs no token', '127.0.0.1', {}, TOKEN, { ok: true }],
    ['loopback even when the token cannot be read', '::1', {}, new Error('ENOENT'), { ok: true }],
    ['remote without a token', '10.0.0.1', {}, TOKEN, { ok: false, code: 401 }],
    ['remote with the wrong token', '10.0.0.1', bearer('wrong-token-wrong-token'), TOKEN, { ok: false, code: 401 }],
    ['remote with the token', '10.0.0.1', bearer(TOKEN), TOKEN, { ok: true }],
    ['remote with the token in the pod-proxy header', '10.0.0.1', { 'x-dbproxy-admin-token': TOKEN }, TOKEN, { ok: true }],
    ['unreadable token file fails closed', '10.0.0.1', bearer(TOKEN), new Error('ENOENT'), { ok: false, code: 503 }],
  ] as const)('%s', (_, addr, headers, expected, want) => {
    expect(statusVerdict(addr, headers, expected)).toMatchObject(want);
  });

  it.each([
    ['untrusted loopback without a token', {}, TOKEN, { ok: false, code: 401 }],
    ['untrusted loopback with the token', bearer(TOKEN), TOKEN, { ok: true }],
    ['untrusted loopback, no token configured: open', {}, undefined, { ok: true }],
  ] as const)('admin.trustLoopback false: %s', (_, headers, expected, want) => {
    expect(statusVerdict('127.0.0.1', headers, expected, false)).toMatchObject(want);
  });
});

describe('configuredStatusToken', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'admin-auth-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the inline token, none, or the file re-read each time', async () => {
    expect(await configuredStatusToken({ statusToken: TOKEN })).toBe(TOKEN);
    expect(await configuredStatusToken({})).toBeUndefined();
    const file = path.join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(await configuredStatusToken({ statusTokenFile: file })).toBe(TOKEN);
    writeFileSync(file, 'rotated-token-rotated-token');
    expect(await configuredStatusToken({ statusTokenFile: file })).toBe('rotated-token-rotated-token');
  });

  it('throws for a missing or too short file', async () => {
    await expect(configuredStatusToken({ statusTokenFile: path.join(dir, 'nope') })).rejects.toThrow(/ENOENT/);
    const short = path.join(dir, 'short');
    writeFileSync(short, 'abc\n');
    await expect(configuredStatusToken({ statusTokenFile: short })).rejects.toThrow(/at least 16 characters/);
  });
});
