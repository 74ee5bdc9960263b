/** The admin HTTP server: /metrics, /healthz, /readyz, /status, /config. Separate port from PostgreSQL. */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { statusVerdict, type StatusTokenSource } from './admin-auth.js';

export interface AdminHandlers {
  registry: Registry;
  /** Live: the event loop answers. Ready: listening, config loaded, a target known, not draining. */
  ready(): { ok: boolean; reason?: string };
  status(): unknown;
  /** Which config runs and what was last refused (no secrets, no clients): what the operator reads. */
  config?(): unknown;
  /**
   * The token /status needs (admin-auth.ts); absent or undefined: /status is open. /metrics, /config
   * and the probes stay open either way: they hold no client details and no secrets.
   */
  statusToken?: StatusTokenSource;
  /** False: loopback callers need the token too (admin.trustLoopback); absent: they do not. */
  trustLoopback?(): boolean;
  /** Told when the status token cannot be read (the reply says only that it cannot). */
  onTokenError?(err: Error): void;
}

export function startAdminServer(host: string, port: number, h: AdminHandlers): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/metrics':
        h.registry.metrics().then(
          (text) => send(200, h.registry.contentType, text),
          (err: Error) => send(500, 'text/plain', `${err.message}\n`),
        );
        return;
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz': {
        const r = h.ready();
        return send(r.ok ? 200 : 503, 'text/plain', r.ok ? 'ok\n' : `not ready: ${r.reason ?? ''}\n`);
      }
      case '/status':
        return void readToken(h)
          .then((expected) => {
            const v = statusVerdict(req.socket.remoteAddress, req.headers, expected, h.trustLoopback?.() ?? true);
            if (v.ok) return send(200, 'application/json', JSON.stringify(h.status(), null, 2) + '\n');
            if (v.code === 401) res.setHeader('www-authenticate', 'Bearer realm="dbproxy-admin"');
            send(v.code, 'text/plain', `${v.message}\n`);
          })
          .catch((err: Error) => send(500, 'text/plain', `${err.message}\n`));
      case '/config':
        if (h.config) return send(200, 'application/json', JSON.stringify(h.config(), null, 2) + '\n');
        return send(404, 'text/plain', 'not found: try /metrics /healthz /readyz /status\n');
      default:
        return send(404, 'text/plain', `not found: try /metrics /healthz /readyz /status${h.config ? ' /config' : ''}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** The configured token, or the Error that kept it from being read (never a rejection). */
async function readToken(h: AdminHandlers): Promise<string | undefined | Error> {
  try {
    return await h.statusToken?.();
  } catch (err) {
    h.onTokenError?.(err as Error);
    return err as Error;
  }
}
