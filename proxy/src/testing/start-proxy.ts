/** Test support: a real ProxyServer in this process, on a free loopback port, with a quiet logger. */
import { pino, type Logger } from 'pino';
import { loadConfigFile, parseConfig } from '../../../contract/config/load.js';
import type { ProxyConfig } from '../../../contract/config/schema.js';
import { ProxyServer } from '../server.js';

export interface TestProxy {
  server: ProxyServer;
  host: string;
  port: number;
  adminPort: number;
  url(user: string, password?: string, database?: string): string;
  admin(path: string): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

/**
 * `overrides` is a partial proxy config (file shape); listen/admin default to ephemeral ports.
 * `log`: the proxy's logger instead of a silent one (a test that checks what the proxy logs).
 */
export async function startProxy(overrides: Record<string, unknown>, log?: Logger): Promise<TestProxy> {
  const config = parseConfig({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, logLevel: 'warn', ...overrides }, 'test');
  return run(config, undefined, log);
}

/** From a config file, as `dbproxy proxy --config FILE` runs: the admin console's RELOAD re-reads it. */
export async function startProxyFromFile(file: string): Promise<TestProxy> {
  return run(await loadConfigFile(file), () => loadConfigFile(file));
}

async function run(config: ProxyConfig, reloadSource?: () => Promise<ProxyConfig>, log?: Logger): Promise<TestProxy> {
  const server = new ProxyServer(config, log ?? pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }));
  server.reloadSource = reloadSource;
  await server.start();
  const port = Number(server.address().split(':').pop());
  const adminPort = Number(server.adminAddress().split(':').pop());
  return {
    server,
    host: '127.0.0.1',
    port,
    adminPort,
    url: (user, password, database = 'postgres') =>
      `postgresql://${encodeURIComponent(user)}${password !== undefined ? ':' + encodeURIComponent(password) : ''}@127.0.0.1:${port}/${database}`,
    async admin(path) {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`);
      return { status: res.status, text: await res.text() };
    },
    stop: () => server.shutdown(2_000),
  };
}
