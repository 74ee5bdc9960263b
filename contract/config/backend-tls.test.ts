/** The backend leg's sslmode rules (libpq's), and the config checks of backendTls. */
import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { afterSslReply, certificateCheck, isCertificateError, tlsConnectOptions, wantsSsl, type BackendTls, type SslMode } from './backend-tls.js';

const CA = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';

describe('sslmode decisions', () => {
  it.each<[SslMode, boolean, 'tls' | 'plain' | 'refuse' | '-', 'tls' | 'plain' | 'refuse' | '-']>([
    // mode, sends SSLRequest, after 'S', after 'N'
    ['disable', false, '-', '-'],
    ['prefer', true, 'tls', 'plain'],
    ['require', true, 'tls', 'refuse'],
    ['verify-ca', true, 'tls', 'refuse'],
    ['verify-full', true, 'tls', 'refuse'],
  ])('%s: SSLRequest %s, S → %s, N → %s', (mode, request, onS, onN) => {
    expect(wantsSsl(mode)).toBe(request);
    if (request) {
      expect(afterSslReply(mode, 'S')).toBe(onS);
      expect(afterSslReply(mode, 'N')).toBe(onN);
    }
  });

  it.each<[SslMode, boolean, 'none' | 'chain' | 'full']>([
    ['prefer', false, 'none'],
    ['prefer', true, 'none'],
    ['require', false, 'none'],
    ['require', true, 'chain'], // libpq: require with a root CA behaves as verify-ca
    ['verify-ca', true, 'chain'],
    ['verify-full', true, 'full'],
  ])('%s with a CA %s checks the certificate: %s', (sslmode, withCa, check) => {
    const t: BackendTls = { sslmode, ...(withCa ? { ca: CA } : {}) };
    expect(certificateCheck(t)).toBe(check);
    const o = tlsConnectOptions(t, 'db.internal');
    expect(o.rejectUnauthorized).toBe(check !== 'none');
    expect(o.ca).toBe(check === 'none' ? undefined : CA);
  });
});

describe('tlsConnectOptions', () => {
  const cert = { subject: { CN: 'x' }, subjectaltname: 'DNS:db.internal, IP Address:10.0.0.7' } as unknown as tls.PeerCertificate;

  it.each([
    ['a DNS target: SNI is its name', { sslmode: 'verify-full' }, 'db.internal', 'db.internal'],
    ['an IP target: no SNI (RFC 6066)', { sslmode: 'verify-full' }, '10.0.0.7', undefined],
    ['serverName wins over the host', { sslmode: 'verify-full', serverName: 'db.internal' }, '10.0.0.9', 'db.internal'],
  ] as const)('%s', (_, t, host, sni) => {
    expect(tlsConnectOptions({ ...t, ca: CA }, host).servername).toBe(sni);
  });

  it.each([
    ['verify-full, the DNS name in the SAN', 'verify-full', 'db.internal', undefined, true],
    ['verify-full, the IP in the SAN', 'verify-full', '10.0.0.7', undefined, true],
    ['verify-full, an IP not in the SAN', 'verify-full', '10.0.0.9', undefined, false],
    ['verify-full, another name', 'verify-full', 'other.internal', undefined, false],
    ['verify-full, an IP target checked for serverName', 'verify-full', '10.0.0.9', 'db.internal', true],
    ['verify-ca never checks the name', 'verify-ca', 'other.internal', undefined, true],
  ] as const)('%s: accepted %s', (_, sslmode, host, serverName, ok) => {
    const o = tlsConnectOptions({ sslmode, ca: CA, ...(serverName ? { serverName } : {}) }, host);
    // Node calls it with whatever host it was given; the expected name is what counts.
    expect(o.checkServerIdentity!('whatever', cert) === undefined).toBe(ok);
  });

  it('a name mismatch is a certificate error (fails for good), a reset is not', () => {
    const err = tlsConnectOptions({ sslmode: 'verify-full', ca: CA }, 'other.internal').checkServerIdentity!('x', cert)!;
    expect(isCertificateError(err)).toBe(true);
    expect(isCertificateError(Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toBe(true);
    expect(isCertificateError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }))).toBe(true);
    expect(isCertificateError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(false);
  });
});

describe('backendTls in the config', () => {
  const parse = (backendTls?: unknown) =>
    parseConfig({ targets: ['db:5432'], auth: { method: 'trust' }, ...(backendTls ? { backendTls } : {}) }, 'test', '/etc/dbproxy');

  it('defaults to prefer, as libpq', () => {
    expect(parse().backendTls).toEqual({ sslmode: 'prefer' });
  });

  it('a relative caFile is resolved against the config file directory', () => {
    expect(parse({ sslmode: 'verify-full', caFile: 'ca.crt' }).backendTls.caFile).toBe('/etc/dbproxy/ca.crt');
  });

  it.each([
    [{ sslmode: 'verify-full' }, 'backendTls.caFile: sslmode verify-full needs the CA'],
    [{ sslmode: 'verify-ca' }, 'backendTls.caFile: sslmode verify-ca needs the CA'],
    [{ sslmode: 'disable', caFile: 'ca.crt' }, 'backendTls.sslmode: sslmode disable never uses TLS'],
    [{ sslmode: 'allow' }, 'backendTls.sslmode'],
    [{ sslmode: 'prefer', caFlie: 'x' }, 'caFlie'],
  ])('%j is refused: %s', (backendTls, message) => {
    expect(() => parse(backendTls)).toThrow(message);
  });
});
