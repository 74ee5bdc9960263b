/** `HOST:PORT` with IPv6 in brackets (`[::1]:5432`); shared by the config schema and the flags. */
export interface HostPort {
  host: string;
  port: number;
}

export class HostPortError extends Error {
  override name = 'HostPortError';
}

export function tryParseHostPort(s: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/** The inverse of `parseHostPort`: `host:port`, IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function parseHostPort(s: string): HostPort {
  const hp = tryParseHostPort(s);
  if (!hp) throw new HostPortError(`invalid address "${s}": expected HOST:PORT, e.g. 127.0.0.1:6432 or [::1]:6432`);
  return hp;
}
