/**
 * TLS on the backend leg, libpq's sslmode rules in one place: what to do with the server's answer to
 * an SSLRequest, and the tls.connect options for each mode. Shared by the proxy's database
 * connections, its health probes and the operator's probes, so all three treat a server alike.
 */
import net from 'node:net';
import tls from 'node:tls';

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The settings as a connection uses them: the CA's PEM text, not its file. */
export interface BackendTls {
  sslmode: SslMode;
  /** PEM of the CA(s) the server's certificate must chain to; needed by verify-ca and verify-full. */
  ca?: string | Buffer | undefined;
  /** The name the certificate must carry (verify-full) and the SNI sent; default: the target's host. */
  serverName?: string | undefined;
}

/** libpq's message when the server answers 'N' and the mode does not allow plaintext. */
export const SSL_REQUIRED_MESSAGE = 'server does not support SSL, but SSL was required';

/** Whether a connection starts with an SSLRequest. */
export const wantsSsl = (mode: SslMode): boolean => mode !== 'disable';

/** What the server's one-byte answer to the SSLRequest means under `mode`. */
export function afterSslReply(mode: SslMode, reply: 'S' | 'N'): 'tls' | 'plain' | 'refuse' {
  if (reply === 'S') return 'tls';
  return mode === 'prefer' ? 'plain' : 'refuse';
}

/**
 * How much of the server's certificate is checked: prefer and require take any certificate (as
 * libpq), except that require with a CA given checks the chain (libpq: require with a root.crt
 * behaves as verify-ca); verify-ca checks the chain; verify-full the chain and the host name.
 */
export function certificateCheck(t: BackendTls): 'none' | 'chain' | 'full' {
  if (t.sslmode === 'verify-full') return 'full';
  if (t.sslmode === 'verify-ca' || (t.sslmode === 'require' && t.ca !== undefined)) return 'chain';
  return 'none';
}

/** Options for tls.connect over the socket the server answered 'S' on. */
export function tlsConnectOptions(t: BackendTls, host: string): tls.ConnectionOptions {
  const check = certificateCheck(t);
  const name = t.serverName ?? host;
  const opts: tls.ConnectionOptions = {
    // SNI is a DNS name (RFC 6066): never an IP address.
    ...(net.isIP(name) === 0 ? { servername: name } : {}),
    rejectUnauthorized: check !== 'none',
    // The host name is checked against the expected name, not whatever the socket was given, so the
    // result is the same through node-postgres (the probes) and the proxy's own connections. For an
    // IP, Node checks the certificate's IP SANs.
    checkServerIdentity: check === 'full' ? (_host, cert) => tls.checkServerIdentity(name, cert) : () => undefined,
  };
  if (check !== 'none' && t.ca !== undefined) opts.ca = t.ca;
  return opts;
}

/** A TLS failure in words a client can act on, naming the mode and the server. */
export function describeTlsError(t: BackendTls, where: string, err: Error): string {
  const code = (err as Error & { code?: unknown }).code;
  const detail = typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  return `cannot connect to ${where} securely (backendTls.sslmode ${t.sslmode}): ${detail}`;
}

/** Node's codes for a certificate that fails the check: a wrong CA or name, not a network problem. */
export function isCertificateError(err: Error): boolean {
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' && (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SIGNATURE|ISSUER|SELF_SIGNED|CHAIN/.test(code));
}
