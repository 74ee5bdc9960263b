/**
 * A minimal REST client for the agent (admin kubeconfig: server, CA, bearer token). Plain HTTPS keeps
 * the agent independent of client-node's patch and watch quirks (docs/control-plane.md).
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export interface Api {
  server: string;
  ca: Buffer | undefined;
  caFile: string | undefined;
  token: string;
  request<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
  /** Streams watch events until the server ends the watch, `signal` aborts, or an error. */
  watch(path: string, onEvent: (type: string, object: Record<string, unknown>) => void, signal: AbortSignal): Promise<void>;
  /** Closes kept-alive connections so the process can exit. */
  close(): void;
}

export function apiFromKubeconfig(file: string): Api {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user?.token) throw new Error(`${file}: needs a current cluster and a user with a token`);
  const ca = cluster.caFile ? readFileSync(cluster.caFile) : cluster.caData ? Buffer.from(cluster.caData, 'base64') : undefined;
  const server = cluster.server.replace(/\/$/, '');
  const token = user.token;
  const agent = new https.Agent({ keepAlive: true, ca });

  const request = <T>(method: string, path: string, body?: unknown, contentType = 'application/json') =>
    new Promise<{ status: number; body: T }>((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(`${server}${path}`, {
        method,
        agent,
        timeout: 30_000,
        // Content-Length always: Node sends a DELETE body without one, which leaves the kept-alive
        // connection out of step and the apiserver answers the next request with a bare 400.
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep the text: the caller reports it */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(data);
    });

  const watch = (path: string, onEvent: (type: string, object: Record<string, unknown>) => void, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const req = https.get(`${server}${path}`, { agent, signal, headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: string; object: Record<string, unknown> };
            onEvent(ev.type, ev.object);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    });

  return { server, ca, caFile: cluster.caFile, token, request, watch, close: () => agent.destroy() };
}

/** Throws with the apiserver's message unless the status is one of `ok`. */
export function expectStatus(what: string, res: { status: number; body: unknown }, ok: number[] = [200, 201]): void {
  if (ok.includes(res.status)) return;
  const msg = (res.body as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
  throw new Error(`${what}: HTTP ${res.status}: ${msg}`);
}
