/**
 * The proxy's Kubernetes mode: list + watch ONE Secret (fieldSelector metadata.name=…; the pod's Role
 * grants get/list/watch on that name only) and deliver its `config.yaml` on start and on every change.
 * A watch that ends or fails is restarted with backoff; the process never exits because of it.
 */
import { CoreV1Api, Watch, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface SecretSourceOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  key?: string;
  onConfig: (yamlText: string) => void;
  onError: (err: Error) => void;
  log: Logger;
}

const WATCH_TIMEOUT_S = 240;
const MAX_BACKOFF_MS = 10_000;

export function watchConfigSecret(o: SecretSourceOptions): { ready: Promise<void>; stop(): void } {
  const key = o.key ?? 'config.yaml';
  const core = o.kc.makeApiClient(CoreV1Api);
  const watch = new Watch(o.kc);
  let last: string | undefined;
  let stopped = false;
  let abort: AbortController | undefined;
  let backoff = 250;
  let markReady: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  const deliver = (secret: V1Secret | undefined): void => {
    const raw = secret?.data?.[key];
    if (raw === undefined) {
      o.onError(new Error(`Secret ${o.namespace}/${o.name} has no key ${key}`));
      return;
    }
    const text = Buffer.from(raw, 'base64').toString('utf8');
    if (text === last) return;
    last = text;
    o.onConfig(text);
    markReady();
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const list = await core.listNamespacedSecret({ namespace: o.namespace, fieldSelector: `metadata.name=${o.name}` });
        deliver(list.items[0]);
        const rv = list.metadata?.resourceVersion;
        await new Promise<void>((resolve, reject) => {
          let watchdog: NodeJS.Timeout;
          const arm = () => {
            clearTimeout(watchdog);
            // The 1.4 watch has no client-side timeout: if nothing (not even the server's close)
            // arrives well after the server-side timeout, abort and re-list.
            watchdog = setTimeout(() => abort?.abort(), (WATCH_TIMEOUT_S + 30) * 1000);
          };
          arm();
          watch
            .watch(
              `/api/v1/namespaces/${o.namespace}/secrets`,
              { fieldSelector: `metadata.name=${o.name}`, resourceVersion: rv, timeoutSeconds: WATCH_TIMEOUT_S, allowWatchBookmarks: true },
              (type: string, obj: V1Secret) => {
                arm();
                backoff = 250;
                if (type === 'ADDED' || type === 'MODIFIED') deliver(obj);
                else if (type === 'DELETED') o.onError(new Error(`Secret ${o.namespace}/${o.name} was deleted; keeping the last config`));
              },
              (err: unknown) => {
                clearTimeout(watchdog);
                if (err && !stopped) reject(err instanceof Error ? err : new Error(String(err)));
                else resolve();
              },
            )
            .then((c) => (abort = c), reject);
        });
      } catch (err) {
        if (stopped) return;
        o.onError(err instanceof Error ? err : new Error(String(err)));
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  };
  void loop();
  return {
    ready,
    stop() {
      stopped = true;
      abort?.abort();
    },
  };
}
