/** The client leg's TLS: the certificate, key and client CA read from files, checked, made into a SecureContext, and the upgrade of a connection. */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { ProxyConfig } from '../../../contract/config/schema.js';
import type { Conn } from '../io/conn.js';

export type TlsConfig = NonNullable<ProxyConfig['tls']>;
export type ClientCertificates = TlsConfig['clientCertificates'];

/** The files' bytes as read; `digest` tells one read from the next without keeping both. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** A checked certificate, ready for new handshakes. */
export interface LoadedTls {
  context: tls.SecureContext;
  /** What /status shows of the serving certificate. */
  info: { subject: string; notAfter: string; notAfterSeconds: number; fingerprint256: string };
  digest: string;
}

/** The files named by `t`; throws (ENOENT and the like) with the file named in the message. */
export function readTlsFiles(t: TlsConfig): TlsFiles {
  const read = (file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const files: TlsFiles = { cert: read(t.certFile!), key: read(t.keyFile!) };
  if (t.clientCertificates !== 'none' && t.caFile) files.ca = read(t.caFile);
  return files;
}

export function digestOf(files: TlsFiles): string {
  const h = createHash('sha256');
  for (const b of [files.cert, files.key, files.ca ?? Buffer.alloc(0)]) h.update(String(b.length)).update(':').update(b);
  return h.digest('hex');
}

/**
 * Checks the bytes and builds the context: the certificate parses, the key is the certificate's
 * (OpenSSL refuses a mismatch), the CA parses. Throws with what is wrong; the caller keeps the old one.
 */
export function buildTls(t: TlsConfig, files: TlsFiles): LoadedTls {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(files.cert);
  } catch (err) {
    throw new Error(`${t.certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  if (files.ca !== undefined) {
    try {
      new X509Certificate(files.ca);
    } catch (err) {
      throw new Error(`${t.caFile}: not a PEM CA certificate (${(err as Error).message})`);
    }
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({
      cert: files.cert,
      key: files.key,
      minVersion: t.minVersion,
      ...(files.ca !== undefined ? { ca: files.ca } : {}),
    });
  } catch (err) {
    throw new Error(`${t.certFile} with ${t.keyFile}: ${(err as Error).message}`);
  }
  const notAfterMs = Date.parse(leaf.validTo);
  return {
    context,
    info: {
      subject: leaf.subject.replace(/\n/g, ', '),
      notAfter: new Date(notAfterMs).toISOString(),
      notAfterSeconds: notAfterMs / 1000,
      fingerprint256: leaf.fingerprint256,
    },
    digest: digestOf(files),
  };
}

/** Reads and builds at once: at start and on a config reload, where a failure refuses the config. */
export function loadTls(t: TlsConfig): LoadedTls {
  return buildTls(t, readTlsFiles(t));
}

/** What the TLS socket learned of the client's certificate. */
export interface PeerCertificate {
  /** The client sent a certificate. */
  present: boolean;
  /** It verifies against the CA. */
  authorized: boolean;
  /** OpenSSL's reason when not (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, …). */
  error?: string;
  /** The subject's CN. */
  commonName?: string;
}

/**
 * A client's certificate against the mode, as PostgreSQL's clientcert=verify-ca / verify-full
 * decides: the failure's message (SQLSTATE 28000), or undefined when the client may go on.
 */
export function checkClientCertificate(mode: ClientCertificates, peer: PeerCertificate | undefined, user: string): string | undefined {
  if (mode === 'none') return undefined;
  if (peer === undefined || !peer.present) return 'connection requires a valid client certificate';
  if (!peer.authorized) {
    return `certificate authentication failed for user "${user}": the client certificate does not verify (${peer.error ?? 'unknown reason'})`;
  }
  if (mode === 'verify-full' && peer.commonName !== user) {
    return `certificate authentication failed for user "${user}": the certificate's CN is "${peer.commonName ?? ''}", not the user name`;
  }
  return undefined;
}

/** Node's TLS handle, whose verifyError() is what tls.Server itself reads (onServerSocketSecure). */
interface VerifyingHandle {
  verifyError?(): Error | null;
}

/**
 * The peer certificate of a server-side TLS socket, as checkClientCertificate reads it. The
 * session makes a bare TLSSocket over its raw socket (no tls.Server), so Node never sets
 * `authorized` on it; the verification result is read as tls.Server reads it. Should that method
 * ever be missing, the certificate counts as not verified: refused, never let through.
 */
export function peerOf(socket: tls.TLSSocket): PeerCertificate {
  const cert = socket.getPeerCertificate();
  const present = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  const peer: PeerCertificate = { present, authorized: false };
  if (present) {
    const handle = (socket as unknown as { _handle?: VerifyingHandle })._handle;
    if (typeof handle?.verifyError !== 'function') {
      peer.error = 'the TLS socket cannot tell whether the certificate verifies';
    } else {
      const err = handle.verifyError();
      if (err === null) peer.authorized = true;
      else peer.error = (err as Error & { code?: string }).code ?? err.message;
    }
    const cn = cert.subject?.CN;
    if (typeof cn === 'string') peer.commonName = cn;
  }
  return peer;
}

/**
 * The server side of TLS over a client's connection, after its SSLRequest. TLS runs on Node's
 * sockets: the connection leaves the native core here, if it was there.
 */
export function upgradeToTls(conn: Conn, context: tls.SecureContext, requestCert: boolean): tls.TLSSocket {
  const raw = conn.toSocket();
  raw.on('error', () => {}); // reported by the TLS socket over it
  return new tls.TLSSocket(raw, { isServer: true, secureContext: context, requestCert, rejectUnauthorized: false });
}
