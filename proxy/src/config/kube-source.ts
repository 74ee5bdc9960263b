/**
 * The proxy's Kubernetes mode: list + watch ONE Secret (fieldSelector metadata.name=…; the pod's Role
 * grants get/list/watch on that name only) and deliver its `config.yaml` on start and on every change.
 * Built on the operator runtime's Informer, so it inherits its guarantees: restarts after errors with
 * backoff, relists on 410, a watchdog for silent connections; the process never exits because of it.
 * A deleted Secret or a missing key is reported and the running config is kept.
 */
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Informer } from '../../../contract/kube/informer.js';
import { getJson } from '../../../contract/kube/request.js';

export interface SecretSourceOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  /** The Secret's data key holding the config; default `config.yaml`. */
  key?: string;
  /** A new config text, with the Secret's resourceVersion (what the pod reports on /config). */
  onConfig: (yamlText: string, version: string | undefined) => void;
  /** The Secret changed but the text is the last one delivered (labels, annotations, a resync). */
  onSameConfig?: (version: string | undefined) => void;
  onError: (err: Error) => void;
  log: Logger;
  /** Watch tuning, for tests; defaults are the Informer's. */
  watchTimeoutSeconds?: number;
  staleAfterMs?: number;
}

export interface SecretSource {
  /** Resolves when the first config was delivered (never, while the Secret is missing; stop() resolves it). */
  ready: Promise<void>;
  stop(): void;
}

/** The text under `key`, or an Error saying what is wrong with the Secret. */
export function configText(secret: V1Secret, key: string): string | Error {
  const raw = secret.data?.[key];
  if (raw !== undefined) return Buffer.from(raw, 'base64').toString('utf8');
  // stringData is write-only, but a hand-built object in a test or a dry run may carry it.
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  return new Error(`Secret ${secret.metadata?.namespace}/${secret.metadata?.name} has no key ${key}`);
}

/** One GET of the Secret's config text (the pod's Role grants get on its own Secret), for RELOAD. */
export async function readConfigSecret(kc: KubeConfig, namespace: string, name: string, key = 'config.yaml'): Promise<string> {
  const secret = await getJson<V1Secret>(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, {}, 10_000);
  const text = configText(secret, key);
  if (text instanceof Error) throw text;
  return text;
}

export function watchConfigSecret(o: SecretSourceOptions): SecretSource {
  const key = o.key ?? 'config.yaml';
  const where = `${o.namespace}/${o.name}`;
  const log = o.log.child({ configSecret: where });
  let last: string | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  const informer = new Informer<V1Secret>({
    kc: o.kc,
    path: `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/secrets`,
    fieldSelector: `metadata.name=${o.name}`,
    log,
    ...(o.watchTimeoutSeconds !== undefined && { watchTimeoutSeconds: o.watchTimeoutSeconds }),
    ...(o.staleAfterMs !== undefined && { staleAfterMs: o.staleAfterMs }),
  });

  const deliver = (secret: V1Secret): void => {
    if (secret.metadata?.name !== o.name) return;
    const text = configText(secret, key);
    if (text instanceof Error) return o.onError(text);
    const version = secret.metadata?.resourceVersion;
    if (text === last) return o.onSameConfig?.(version); // a resync or a metadata change: nothing to reload
    last = text;
    try {
      o.onConfig(text, version);
    } finally {
      markReady();
    }
  };
  informer.onAdd(deliver);
  informer.onUpdate(deliver);
  informer.onDelete(() => o.onError(new Error(`Secret ${where} was deleted; keeping the last config`)));
  informer.onError((err) => o.onError(err));
  void informer.start().then(() => {
    if (informer.hasSynced() && !informer.get(o.namespace, o.name)) o.onError(new Error(`Secret ${where} does not exist yet; waiting for it`));
  });

  return {
    ready,
    stop() {
      informer.stop();
      markReady();
    },
  };
}
