/**
 * The backend leg's SSL negotiation: the SSLRequest, the server's 'S' or 'N', and on 'S' the TLS
 * handshake. TLS runs on Node's sockets: a connection the native core carries leaves it here, one
 * the server answers 'N' (sslmode prefer) stays where it is.
 */
import type net from 'node:net';
import tls from 'node:tls';
import {
  afterSslReply,
  describeTlsError,
  isCertificateError,
  SSL_REQUIRED_MESSAGE,
  tlsConnectOptions,
  type BackendTls,
} from '../../../contract/config/backend-tls.js';
import type { Conn } from '../io/conn.js';
import { NodeConn } from '../io/node-conn.js';
import { PermanentOpenError } from '../pool/pool-api.js';

/** SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * SQLSTATE connection_failure, for a server that cannot be reached securely. Such an open fails
 * for good (the waiting clients get the reason at once): a wrong CA or a server without TLS is not
 * fixed by retrying.
 */
export const TLS_REFUSED = '08006';

export interface Negotiated {
  conn: Conn;
  /** The connection runs over TLS. */
  secure: boolean;
}

/**
 * Sends the SSLRequest on `conn` (connected, nothing sent yet) and calls `done` with the connection
 * to go on with: `conn` itself after an 'N' that the mode allows, a TLS connection after 'S'.
 * Returns a cancel function, for a connect timeout during the handshake.
 */
export function negotiateTls(conn: Conn, t: BackendTls, host: string, where: string, done: (err: Error | undefined, n?: Negotiated) => void): () => void {
  let secure: tls.TLSSocket | undefined;
  let finished = false;
  const finish = (err: Error | undefined, n?: Negotiated) => {
    if (finished) return;
    finished = true;
    if (err) secure?.destroy();
    done(err, n);
  };
  conn.setHandlers({
    data: (chunk) => {
      if (finished || secure) return;
      const reply = chunk[0] === 0x53 ? 'S' : chunk[0] === 0x4e ? 'N' : undefined;
      if (reply === undefined) return finish(new Error(`${where} answered the SSLRequest with byte 0x${(chunk[0] ?? 0).toString(16)}, not S or N`));
      // Bytes after the 'S' came before the handshake, unprotected: someone may have injected them (CVE-2021-23222).
      if (reply === 'S' && chunk.length > 1) return finish(new Error(`${where} sent unencrypted data after its SSL response`));
      const next = afterSslReply(t.sslmode, reply);
      if (next === 'refuse') return finish(new PermanentOpenError(`${where}: ${SSL_REQUIRED_MESSAGE} (backendTls.sslmode ${t.sslmode})`, TLS_REFUSED));
      if (next === 'plain') return finish(undefined, { conn, secure: false });
      secure = handshake(conn, t, host, where, finish);
    },
    close: (err) => finish(new Error(err ? `cannot connect to ${where}: ${err.message}` : `${where} closed the connection during SSL negotiation`)),
  });
  conn.write(SSL_REQUEST);
  return () => finish(new Error('cancelled'));
}

function handshake(
  conn: Conn,
  t: BackendTls,
  host: string,
  where: string,
  finish: (err: Error | undefined, n?: Negotiated) => void,
): tls.TLSSocket | undefined {
  let raw: net.Socket;
  try {
    raw = conn.toSocket();
  } catch (err) {
    conn.destroy();
    finish(new Error(`${where}: ${(err as Error).message}`));
    return undefined;
  }
  raw.on('error', () => {}); // reported by the TLS socket over it
  const secure = tls.connect({ socket: raw, ...tlsConnectOptions(t, host) });
  const onError = (err: Error) => {
    const message = describeTlsError(t, where, err);
    finish(isCertificateError(err) ? new PermanentOpenError(message, TLS_REFUSED) : new Error(message));
  };
  const onClose = () => finish(new Error(`${where} closed the connection during the TLS handshake`));
  secure.once('error', onError);
  secure.once('close', onClose);
  secure.once('secureConnect', () => {
    secure.off('error', onError);
    secure.off('close', onClose);
    finish(undefined, { conn: new NodeConn(secure), secure: true });
  });
  return secure;
}
