/** `HOST:PORT` with IPv6 in brackets (`[::1]:5432`). */
export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(s: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid address "${s}": expected HOST:PORT, e.g. 127.0.0.1:6432 or [::1]:6432`);
  return { host: (m[1] ?? m[2])!, port };
}
