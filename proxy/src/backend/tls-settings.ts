/**
 * The backend leg's TLS settings as connections and probes use them: the config's backendTls with
 * its CA file read, and read again when the file changes (a mounted Secret is rotated in place).
 */
import { readFileSync, statSync } from 'node:fs';
import type { BackendTls } from '../../../contract/config/backend-tls.js';
import type { BackendTlsConfig } from '../../../contract/config/schema.js';

interface CachedCa {
  file: string;
  /** mtime and size of what was read: a change to either reads the file again. */
  stamp: string;
  pem: Buffer;
}

let cached: CachedCa | undefined;

/** Throws, naming the file, when the CA cannot be read or is not a PEM certificate. */
export function readCa(file: string): Buffer {
  let stamp: string;
  try {
    const st = statSync(file);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch (err) {
    throw new Error(`backendTls.caFile ${file}: ${(err as Error).message}`);
  }
  if (cached?.file === file && cached.stamp === stamp) return cached.pem;
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new Error(`backendTls.caFile ${file}: ${(err as Error).message}`);
  }
  // Node takes any bytes as a CA list and then fails every handshake with a vague error: say it here.
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`backendTls.caFile ${file}: no PEM certificate in it`);
  cached = { file, stamp, pem };
  return pem;
}

/** The settings for one connection or probe now. */
export function backendTlsOf(c: BackendTlsConfig): BackendTls {
  return {
    sslmode: c.sslmode,
    ...(c.caFile !== undefined ? { ca: readCa(c.caFile) } : {}),
    ...(c.serverName !== undefined ? { serverName: c.serverName } : {}),
  };
}
