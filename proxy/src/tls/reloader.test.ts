/** Unit tests of the certificate reloader on real files: a kubelet-style symlink swap, a plain overwrite, broken files, the poll fallback. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/load.js';
import { SecretMount } from '../testing/secret-mount.js';
import { signedCert, testCa } from '../testing/tls-cert.js';
import { waitFor } from '../testing/wait.js';
import type { TlsConfig } from './client-tls.js';
import { ClientTlsReloader, type ReloadResult } from './reloader.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-reloader-'));
const ca = testCa(root);
const a = signedCert(ca, root, 'a');
const b = signedCert(ca, root, 'b');
const c = signedCert(ca, root, 'c');
const fp = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;
const pair = (p: { cert: string; key: string }) => ({ 'tls.crt': readFileSync(p.cert), 'tls.key': readFileSync(p.key) });
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const open: ClientTlsReloader[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.close();
});

function reloader(opts: { watch?: boolean; pollMs?: number } = {}): { r: ClientTlsReloader; results: ReloadResult[]; mount: SecretMount; tls: TlsConfig } {
  const mount = new SecretMount(path.join(root, `mount-${++n}`));
  mount.write(pair(a));
  const tls = parseConfig(
    { targets: ['127.0.0.1:5432'], auth: { method: 'trust' }, tls: { certFile: mount.path('tls.crt'), keyFile: mount.path('tls.key') } },
    'test',
  ).tls!;
  const results: ReloadResult[] = [];
  const r = new ClientTlsReloader({ log: pino({ level: 'silent' }), onReload: (x) => results.push(x), pollMs: opts.pollMs ?? 60_000, ...opts });
  open.push(r);
  r.apply(tls);
  return { r, results, mount, tls };
}

const serving = (r: ClientTlsReloader): string => (r.status() as { fingerprint256: string }).fingerprint256;

describe('ClientTlsReloader', () => {
  it('serves the new certificate after a kubelet-style symlink swap', async () => {
    const { r, results, mount } = reloader();
    expect(serving(r)).toBe(fp(a.cert));
    const before = r.context;
    mount.write(pair(b));
    await waitFor(() => serving(r) === fp(b.cert), 'the reloader to serve certificate b');
    expect(r.context).not.toBe(before);
    expect(results).toEqual(['success']);
  });

  it('serves the new certificate after the files are overwritten in place', async () => {
    const dir = mkdtempSync(path.join(root, 'plain-'));
    const cert = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    writeFileSync(cert, readFileSync(a.cert));
    writeFileSync(key, readFileSync(a.key));
    const tls = parseConfig({ targets: ['127.0.0.1:5432'], auth: { method: 'trust' }, tls: { certFile: cert, keyFile: key } }, 'test').tls!;
    const r = new ClientTlsReloader({ log: pino({ level: 'silent' }), pollMs: 60_000 });
    open.push(r);
    r.apply(tls);
    // The key first, then the certificate: between the writes the pair does not match, which must not be served.
    writeFileSync(key, readFileSync(b.key));
    writeFileSync(cert, readFileSync(b.cert));
    await waitFor(() => serving(r) === fp(b.cert), 'the reloader to serve certificate b');
  });

  it('keeps the running certificate when the new files do not check out, and takes good ones after', async () => {
    const { r, results, mount } = reloader();
    mount.write({ 'tls.crt': readFileSync(b.cert), 'tls.key': readFileSync(c.key) });
    await waitFor(() => results.length === 1, 'the broken pair to be tried');
    expect(results).toEqual(['failure']);
    expect(serving(r)).toBe(fp(a.cert));
    expect(r.status()).toMatchObject({ lastReloadError: expect.stringMatching(/key values mismatch/) });
    mount.write({ 'tls.crt': Buffer.from('-----BEGIN CERTIFICATE-----\ngarbage\n'), 'tls.key': readFileSync(c.key) });
    await waitFor(() => results.length === 2, 'the garbage certificate to be tried');
    expect(serving(r)).toBe(fp(a.cert));
    mount.write(pair(c));
    await waitFor(() => serving(r) === fp(c.cert), 'the reloader to serve certificate c');
    expect(results).toEqual(['failure', 'failure', 'success']);
    expect(r.status()).not.toHaveProperty('lastReloadError');
  });

  it('finds a change by polling when no watch event comes', async () => {
    const { r, results, mount } = reloader({ watch: false, pollMs: 50 });
    mount.write(pair(b));
    await waitFor(() => serving(r) === fp(b.cert), 'the poll to find certificate b');
    expect(results).toEqual(['success']);
  });

  it('refuses a config whose files do not check out, and keeps what runs', () => {
    const { r, tls } = reloader();
    expect(() => r.apply({ ...tls, keyFile: b.key })).toThrow(/key values mismatch/);
    expect(serving(r)).toBe(fp(a.cert));
  });

  it('has no context without TLS', () => {
    const { r } = reloader();
    r.apply(undefined);
    expect(r.context).toBeUndefined();
    expect(r.status()).toBeNull();
  });
});
