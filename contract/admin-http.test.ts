// The admin HTTP server over real sockets: /status behind the token (loopback asked too when it is not
// trusted, as a caller from the network always is), the rest open. Only loopback traffic.
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer } from './admin-http.js';

const TOKEN = 'admin-http-test-token-0123456789';

describe('admin HTTP server with a status token', () => {
  const host = '127.0.0.1';
  /** admin.trustLoopback: false here, so the loopback caller is checked as a network caller is. */
  let trustLoopback = false;
  let server: Server;
  let port = 0;
  let token: string | Error | undefined = TOKEN;
  const tokenErrors: string[] = [];

  beforeAll(async () => {
    server = await startAdminServer(host, 0, {
      registry: new Registry(),
      ready: () => ({ ok: true }),
      status: () => ({ clients: [{ address: '10.1.2.3:5555', user: 'app' }] }),
      config: () => ({ version: '7' }),
      statusToken: async () => {
        if (token instanceof Error) throw token;
        return token;
      },
      onTokenError: (err) => tokenErrors.push(err.message),
      trustLoopback: () => trustLoopback,
    });
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = (h: string, p: string, headers: Record<string, string> = {}) => fetch(`http://${h}:${port}${p}`, { headers });

  it('refuses /status without the token, with WWW-Authenticate', async () => {
    const r = await get(host, '/status');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await r.text()).not.toContain('10.1.2.3');
    expect((await get(host, '/status', { authorization: 'Bearer wrong-wrong-wrong-wrong' })).status).toBe(401);
  });

  it('answers /status to the token, in either header', async () => {
    const r = await get(host, '/status', { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ clients: [{ user: 'app' }] });
    expect((await get(host, '/status', { 'x-dbproxy-admin-token': TOKEN })).status).toBe(200);
  });

  it('answers /status on loopback without the token when loopback is trusted (the default)', async () => {
    trustLoopback = true;
    try {
      expect((await get(host, '/status')).status).toBe(200);
    } finally {
      trustLoopback = false;
    }
  });

  it('keeps /metrics, /config, /healthz and /readyz open', async () => {
    for (const p of ['/metrics', '/config', '/healthz', '/readyz']) expect((await get(host, p)).status, p).toBe(200);
  });

  it('fails closed when the token cannot be read, and says why in the log only', async () => {
    token = new Error('ENOENT: /etc/dbproxy/admin-token/token');
    try {
      const r = await get(host, '/status', { authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(503);
      expect(await r.text()).not.toContain('/etc/dbproxy');
      expect(tokenErrors).toContain('ENOENT: /etc/dbproxy/admin-token/token');
    } finally {
      token = TOKEN;
    }
  });

  it('is open to all without a configured token', async () => {
    token = undefined;
    try {
      expect((await get(host, '/status')).status).toBe(200);
    } finally {
      token = TOKEN;
    }
  });
});
