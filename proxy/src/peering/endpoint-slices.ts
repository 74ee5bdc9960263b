/**
 * The peers behind the proxy's own Service, from its EndpointSlices: list + watch (label
 * kubernetes.io/service-name=SERVICE, in the pod's namespace; the pod's Role grants list/watch on
 * endpointslices there), every pod's id derived from its address (peer-id.ts).
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Informer } from '../../../contract/kube/informer.js';
import type { Peer } from './cancel-route.js';
import { peerIdOf } from './peer-id.js';

export interface EndpointSlice extends KubernetesObject {
  endpoints?: { addresses?: string[] }[] | null;
  ports?: { name?: string | null; port?: number | null }[] | null;
}

/**
 * Every address in the slices, ready or not, terminating or not: a terminating pod still runs its
 * clients' queries while it drains, and a starting one has no clients, so listing it costs nothing.
 * The port is the slice's PostgreSQL port (named `postgresql` by the operator's Service), else `fallbackPort`.
 */
export function peersFromSlices(slices: readonly EndpointSlice[], fallbackPort: number): Peer[] {
  const out = new Map<string, Peer>();
  for (const s of slices) {
    const ports = s.ports ?? [];
    const port = (ports.find((p) => p.name === 'postgresql') ?? (ports.length === 1 ? ports[0] : undefined))?.port ?? fallbackPort;
    for (const e of s.endpoints ?? []) {
      for (const host of e.addresses ?? []) out.set(`${host}|${port}`, { id: peerIdOf(host), host, port });
    }
  }
  return [...out.values()].sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
}

export interface SliceWatchOptions {
  kc: KubeConfig;
  namespace: string;
  service: string;
  fallbackPort: number;
  log: Logger;
  onPeers: (peers: Peer[]) => void;
}

/** Calls onPeers with the whole list after each change; retries on its own (the Informer's guarantees). */
export function watchPeerSlices(o: SliceWatchOptions): { stop(): void } {
  const informer = new Informer<EndpointSlice>({
    kc: o.kc,
    path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/endpointslices`,
    labelSelector: `kubernetes.io/service-name=${o.service}`,
    log: o.log,
  });
  const changed = (): void => o.onPeers(peersFromSlices(informer.list(o.namespace), o.fallbackPort));
  informer.onAdd(changed);
  informer.onUpdate(changed);
  informer.onDelete(changed);
  informer.onError((err) => o.log.warn({ err: err.message, service: o.service }, 'watching the peer EndpointSlices failed; retrying'));
  void informer.start();
  return { stop: () => informer.stop() };
}
