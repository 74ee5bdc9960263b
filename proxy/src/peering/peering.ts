/**
 * This proxy among its peers: its own peer id (fixed at start: the keys it handed out carry it) and
 * the others, from the config's `peering.peers` and, under Kubernetes, its Service's EndpointSlices.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PeeringConfig } from '../../../contract/config/schema.js';
import type { Peer } from './cancel-route.js';
import { watchPeerSlices } from './endpoint-slices.js';
import { peerIdOf } from './peer-id.js';

/** Where to list and watch EndpointSlices from (main.ts gives it in Kubernetes mode). */
export interface KubeAccess {
  kc: KubeConfig;
  namespace: string;
}

export interface PeeringOptions {
  log: Logger;
  /** The proxy's own address (--bind-host, the pod IP): its default id, and how it finds itself in the EndpointSlices. */
  selfAddress: string | undefined;
  /** The port peers' PostgreSQL listeners use when an EndpointSlice does not say (this proxy's own). */
  listenPort: number;
  kube?: KubeAccess | undefined;
}

/** The id: the config's, else one derived from the bind address, else 0 (a proxy with no peers). */
export function selfPeerId(config: PeeringConfig | undefined, selfAddress: string | undefined): number {
  if (config?.id !== undefined) return config.id;
  return selfAddress ? peerIdOf(selfAddress) : 0;
}

export class Peering {
  readonly id: number;
  private staticPeers: Peer[] = [];
  private slicePeers: Peer[] = [];
  private watch: { service: string; stop(): void } | undefined;

  constructor(
    config: PeeringConfig | undefined,
    private readonly o: PeeringOptions,
  ) {
    this.id = selfPeerId(config, o.selfAddress);
    this.apply(config);
  }

  /** The peers to forward to: never this proxy itself. */
  peers(): Peer[] {
    return [...this.staticPeers, ...this.slicePeers];
  }

  /** A (re)loaded config: the static peers follow at once, the EndpointSlice watch restarts if its Service changed. */
  apply(config: PeeringConfig | undefined): void {
    if (selfPeerId(config, this.o.selfAddress) !== this.id) {
      this.o.log.warn({ running: this.id }, 'peering.id changed in the config: restart the proxy for that to take effect');
    }
    // A shared list may name this proxy too: the ids there are unique, so its own id finds it.
    this.staticPeers = (config?.peers ?? []).filter((p) => p.id !== this.id).map((p) => ({ id: p.id, host: p.host, port: p.port }));
    const service = config?.kubernetes?.service;
    if (this.watch?.service === service) return;
    this.watch?.stop();
    this.watch = undefined;
    this.slicePeers = [];
    if (service === undefined) return;
    const kube = this.o.kube;
    if (!kube) {
      this.o.log.warn({ service }, 'peering.kubernetes is set but the proxy does not run with --config-secret: no peers from EndpointSlices');
      return;
    }
    const self = this.o.selfAddress;
    const w = watchPeerSlices({
      ...kube,
      service,
      fallbackPort: this.o.listenPort,
      log: this.o.log.child({ peerService: service }),
      onPeers: (peers) => {
        this.slicePeers = peers.filter((p) => p.host !== self);
        this.o.log.debug({ peers: this.slicePeers }, 'peers changed');
      },
    });
    this.watch = { service, stop: () => w.stop() };
  }

  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
  }
}
