/** A throwaway self-signed certificate for 127.0.0.1 (openssl), for tests of TLS client connections. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Writes tls.crt and tls.key into `dir`; returns their paths. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert];
  execFileSync('openssl', [...args, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}
