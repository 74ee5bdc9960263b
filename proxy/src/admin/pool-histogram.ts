/**
 * A labeled Prometheus histogram whose observe is a few array writes, for the per-transaction path.
 * prom-client's own labeled observe validates and hashes the label set on every call (several
 * hundred ns, measured here, and twice per transaction with the borrow latency); this one resolves
 * the labels once, when a pool asks for its child, and prom-client's Registry formats it as any
 * other metric (it reads `name`, `help`, `type` and `get()`).
 */
import type { Metric, Registry } from 'prom-client';

/** What prom-client's Registry reads of one value (its own type for it is not exported). */
export interface HistogramValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

export class HistogramChild {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class PoolHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children = new Map<string, HistogramChild>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${name}: buckets must increase`);
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for one label set (the same object for the same labels): keep it, observe on it. */
  child(labels: Readonly<Record<L, string>>): HistogramChild {
    const key = this.key(labels);
    let c = this.children.get(key);
    if (c === undefined) this.children.set(key, (c = new HistogramChild(this.bounds, { ...labels })));
    return c;
  }

  /** Stops exporting one label set (a pool that is gone). */
  remove(labels: Readonly<Record<L, string>>): void {
    this.children.delete(this.key(labels));
  }

  reset(): void {
    this.children.clear();
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += c.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...c.labels }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: c.labels, value: c.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  private key(labels: Readonly<Record<L, string>>): string {
    return this.labelNames.map((n) => labels[n]).join('\u0000');
  }
}
