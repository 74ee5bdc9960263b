/**
 * Pod IPs on the loopback interface. Preferred: 10.244.0.0/16 made local with
 * `ip route replace local 10.244.0.0/16 dev lo` (needs CAP_NET_ADMIN): traffic stays on `lo`, and the
 * apiserver accepts these addresses in EndpointSlices. Fallback: 127.0.1.1 upward (Linux routes all of
 * 127/8 to `lo`), which runs pods fine but EndpointSlice validation rejects loopback addresses, so
 * Services then have no endpoints (docs/control-plane.md). Each pod gets its own address, so every
 * pod may listen on the same ports.
 */
export class IpPool {
  private readonly used = new Set<number>();
  private readonly prefix: string;
  private readonly first: number;

  /** `prefix` is the first two octets of a /16; allocation starts at `<prefix>.<firstThird>.1`. */
  constructor(prefix = '127.0', firstThird = 1) {
    if (!/^\d{1,3}\.\d{1,3}$/.test(prefix)) throw new Error(`pod IP prefix must be two octets like 10.244, got ${prefix}`);
    this.prefix = prefix;
    this.first = firstThird << 8;
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
    const [c, d] = ip.slice(this.prefix.length + 1).split('.').map(Number);
    if (c !== undefined && d !== undefined) this.used.delete((c << 8) | d);
  }

  get size(): number {
    return this.used.size;
  }
}
