/** Unit tests of the client leg's TLS material: the checks of new files and the client-certificate rules. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/load.js';
import { signedCert, testCa } from '../testing/tls-cert.js';
import { buildTls, checkClientCertificate, digestOf, loadTls, type PeerCertificate, type TlsConfig } from './client-tls.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-client-tls-'));
const ca = testCa(dir);
const a = signedCert(ca, dir, 'a');
const b = signedCert(ca, dir, 'b');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(tls: Record<string, unknown>): TlsConfig {
  return parseConfig({ targets: ['127.0.0.1:5432'], auth: { method: 'trust' }, tls }, 'test').tls!;
}

describe('buildTls', () => {
  it('takes a matching certificate and key, and tells its fingerprint and expiry', () => {
    const t = config({ certFile: a.cert, keyFile: a.key });
    const loaded = loadTls(t);
    const x = new X509Certificate(readFileSync(a.cert));
    expect(loaded.info.fingerprint256).toBe(x.fingerprint256);
    expect(loaded.info.notAfterSeconds).toBe(Date.parse(x.validTo) / 1000);
    expect(loaded.info.subject).toBe('CN=localhost');
  });

  it.each([
    ['a key of another certificate', () => ({ cert: readFileSync(a.cert), key: readFileSync(b.key) }), /key values mismatch/],
    ['a certificate that is not PEM', () => ({ cert: Buffer.from('not a certificate'), key: readFileSync(a.key) }), /not a PEM certificate/],
    ['a truncated certificate', () => ({ cert: readFileSync(a.cert).subarray(0, 100), key: readFileSync(a.key) }), /not a PEM certificate/],
    ['a key that is not PEM', () => ({ cert: readFileSync(a.cert), key: Buffer.from('garbage') }), /a\.crt with .*a\.key: /],
    ['a CA that is not PEM', () => ({ cert: readFileSync(a.cert), key: readFileSync(a.key), ca: Buffer.from('x') }), /not a PEM CA certificate/],
  ])('refuses %s', (_name, files, message) => {
    const t = config({ certFile: a.cert, keyFile: a.key, caFile: ca.cert, clientCertificates: 'verify-ca' });
    expect(() => buildTls(t, files())).toThrow(message);
  });

  it('names the file it cannot read', () => {
    const t = config({ certFile: path.join(dir, 'missing.crt'), keyFile: a.key });
    expect(() => loadTls(t)).toThrow(/cannot read .*missing\.crt/);
  });

  it('tells changed bytes from unchanged ones', () => {
    const f = { cert: readFileSync(a.cert), key: readFileSync(a.key) };
    expect(digestOf(f)).toBe(digestOf({ cert: Buffer.from(f.cert), key: Buffer.from(f.key) }));
    expect(digestOf(f)).not.toBe(digestOf({ ...f, ca: readFileSync(ca.cert) }));
    // The boundary between the files counts: moving a byte from one to the next is a change.
    expect(digestOf({ cert: Buffer.from('ab'), key: Buffer.from('c') })).not.toBe(digestOf({ cert: Buffer.from('a'), key: Buffer.from('bc') }));
  });
});

describe('the tls config section', () => {
  it('defaults to TLS 1.2 and no client certificates', () => {
    const t = config({ certFile: a.cert, keyFile: a.key });
    expect(t.minVersion).toBe('TLSv1.2');
    expect(t.clientCertificates).toBe('none');
  });

  it.each([
    [{ certFile: 'c', keyFile: 'k', clientCertificates: 'verify-ca' }, /tls\.caFile/],
    [{ caFile: 'ca', clientCertificates: 'verify-full' }, /tls\.certFile and tls\.keyFile/],
    [{ certFile: 'c', keyFile: 'k', minVersion: 'TLSv1.1' }, /minVersion/],
    [{ certFile: 'c', keyFile: 'k', clientCertificates: 'require' }, /clientCertificates/],
  ])('refuses %j', (tls, message) => {
    expect(() => config(tls)).toThrow(message);
  });

  it('resolves a relative caFile against the config file directory', () => {
    const t = parseConfig(
      { targets: ['127.0.0.1:5432'], auth: { method: 'trust' }, tls: { certFile: 'c', keyFile: 'k', caFile: 'ca.crt', clientCertificates: 'verify-ca' } },
      'test',
      '/etc/x',
    );
    expect(t.tls?.caFile).toBe('/etc/x/ca.crt');
  });
});

describe('checkClientCertificate', () => {
  const none = undefined;
  const absent: PeerCertificate = { present: false, authorized: false };
  const good: PeerCertificate = { present: true, authorized: true, commonName: 'app' };
  const other: PeerCertificate = { present: true, authorized: true, commonName: 'someone' };
  const untrusted: PeerCertificate = { present: true, authorized: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', commonName: 'app' };
  it.each([
    ['none', none, undefined],
    ['none', untrusted, undefined],
    ['verify-ca', none, /requires a valid client certificate/],
    ['verify-ca', absent, /requires a valid client certificate/],
    ['verify-ca', untrusted, /does not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
    ['verify-ca', good, undefined],
    ['verify-ca', other, undefined],
    ['verify-full', good, undefined],
    ['verify-full', other, /CN is "someone", not the user name/],
    ['verify-full', untrusted, /does not verify/],
    ['verify-full', absent, /requires a valid client certificate/],
  ] as const)('%s with %j', (mode, peer, expected) => {
    const got = checkClientCertificate(mode, peer, 'app');
    if (expected === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(expected);
  });
});
