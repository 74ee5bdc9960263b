/**
 * A raw GET (or JSON POST) against the apiserver by path, with the KubeConfig's TLS and credentials. The informer
 * lists by path (`/api/v1/namespaces/ns/secrets`), which the typed and generic clients of client-node
 * 1.4 cannot do without knowing the kind; Node's own https keeps this free of extra dependencies.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** Carries the HTTP status and the raw body, like ApiException, so classifyApiError reads both. */
export class HttpStatusError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
    this.name = 'HttpStatusError';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export function buildUrl(server: string, path: string, query: Query): URL {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url;
}

/** `headers`: extra request headers (the kubectl plugin's admin token for the pods behind the pod proxy). */
export async function getJson<T>(kc: KubeConfig, path: string, query: Query, timeoutMs = 60_000, headers: Record<string, string> = {}): Promise<T> {
  return requestJson<T>(kc, 'GET', path, query, undefined, timeoutMs, headers);
}

/** A POST of a JSON body (a TokenReview, say), answered with JSON; same errors as getJson. */
export async function postJson<T>(kc: KubeConfig, path: string, body: unknown, timeoutMs = 60_000): Promise<T> {
  return requestJson<T>(kc, 'POST', path, {}, JSON.stringify(body), timeoutMs);
}

async function requestJson<T>(
  kc: KubeConfig,
  method: 'GET' | 'POST',
  path: string,
  query: Query,
  body: string | undefined,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = buildUrl(cluster.server, path, query);
  const opts: https.RequestOptions = { method, headers: {} };
  await kc.applyToHTTPSOptions(opts);
  opts.headers = { ...opts.headers, ...headers, Accept: 'application/json' };
  if (body !== undefined) opts.headers = { ...opts.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
  const mod = url.protocol === 'http:' ? http : https;
  if (url.protocol === 'http:') delete opts.agent; // the kubeconfig's agent is an https.Agent
  return new Promise<T>((resolve, reject) => {
    const req = mod.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) return reject(new HttpStatusError(status, text));
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new Error(`${method} ${path}: the response is not JSON`));
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
