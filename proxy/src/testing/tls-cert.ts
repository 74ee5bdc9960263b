/** Throwaway certificates for TLS tests (openssl): self-signed for 127.0.0.1, or a small CA and the server certificates it signs. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** Writes tls.crt and tls.key into `dir`; returns their paths. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  openssl(['req', '-x509', ...NEW_EC_KEY, '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { cert, key };
}

export interface TestCa {
  /** PEM file of the CA certificate (what a client trusts). */
  cert: string;
  key: string;
}

/** A CA certificate and key, as `<name>-ca.crt` / `<name>-ca.key` in `dir`. */
export function testCa(dir: string, name = 'test'): TestCa {
  const cert = path.join(dir, `${name}-ca.crt`);
  const key = path.join(dir, `${name}-ca.key`);
  openssl(['req', '-x509', ...NEW_EC_KEY, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name} test CA`]);
  return { cert, key };
}

/**
 * A certificate signed by `ca` for subject CN=`cn`, as `<name>.crt` / `<name>.key` in `dir`: a
 * server's (subjectAltName `san`, by default DNS `cn` and IP 127.0.0.1, what a loopback server is
 * reached by) or, with `client`, a client's (extendedKeyUsage clientAuth, no SAN).
 */
export function signedCert(
  ca: TestCa,
  dir: string,
  name = 'server',
  cn = 'localhost',
  client = false,
  san = `DNS:${cn},IP:127.0.0.1`,
): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  openssl(['req', '-new', ...NEW_EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  writeFileSync(ext, client ? 'extendedKeyUsage=clientAuth\n' : `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
  return { cert, key };
}
