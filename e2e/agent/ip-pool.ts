/**
 * Pod addresses and the names of their network devices on the node, pure. Pods get addresses from
 * the pod CIDR 10.244.0.0/16; 10.244.0.1 is the node's own address on the pod bridge (the gateway and
 * the apiserver's address), so allocation starts at 10.244.0.2. Each pod has its own address, so
 * every pod may listen on the same ports.
 */
export const POD_CIDR = '10.244.0.0/16';
export const POD_PREFIX_LENGTH = 16;
/** The node's address on the pod bridge: pods' default gateway, where the apiserver listens. */
export const NODE_IP = '10.244.0.1';
/** The pod bridge inside the plane's namespace (the role cni0 plays on a kubelet node). */
export const BRIDGE = 'dbp0';

export class IpPool {
  private readonly used = new Set<number>();
  private readonly prefix: string;
  private readonly first: number;

  /** `prefix` is the first two octets of a /16; allocation starts at `<prefix>.0.<firstHost>`. */
  constructor(prefix = '10.244', firstHost = 2) {
    if (!/^\d{1,3}\.\d{1,3}$/.test(prefix)) throw new Error(`pod IP prefix must be two octets like 10.244, got ${prefix}`);
    this.prefix = prefix;
    this.first = firstHost;
  }

  /** The lowest free address, skipping .0 and .255 in each /24. */
  allocate(): string {
    for (let n = this.first; n < 1 << 16; n++) {
      const last = n & 0xff;
      if (last === 0 || last === 255 || this.used.has(n)) continue;
      this.used.add(n);
      return `${this.prefix}.${n >> 8}.${last}`;
    }
    throw new Error(`no free pod IPs left in ${this.prefix}.0.0/16`);
  }

  release(ip: string): void {
    if (!ip.startsWith(`${this.prefix}.`)) return;
    const [c, d] = ip
      .slice(this.prefix.length + 1)
      .split('.')
      .map(Number);
    if (c !== undefined && d !== undefined) this.used.delete((c << 8) | d);
  }

  get size(): number {
    return this.used.size;
  }
}

/**
 * The pod's network namespace name: the plane's namespace name first, so two plane namespaces on one
 * host (two test runs) never collide, then the pod address (unique while the pod lives).
 */
export function podNetnsName(planeNetns: string, podIP: string): string {
  return `${planeNetns}-pod-${podIP.split('.').slice(2).join('-')}`;
}

/** The node end of the pod's veth pair; interface names are at most 15 bytes ("veth-255-254" is 12). */
export function vethName(podIP: string): string {
  return `veth-${podIP.split('.').slice(2).join('-')}`;
}
