/** docs/metrics.md lists every metric the proxy and the operator register, and no other. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { OperatorMetrics } from '../../operator/src/metrics.js';
import { ProxyMetrics, type MetricsSource } from '../../proxy/src/admin/metrics.js';

const DOC = readFileSync(path.resolve(import.meta.dirname, '../../docs/metrics.md'), 'utf8');

const source: MetricsSource = {
  clientConnections: () => 0,
  clientConnectionsNoTls: () => 0,
  pools: () => [],
  targetAvailability: () => ({ writer: true }),
  targetGeneration: () => 0,
  connectionsByMover: () => ({ client: { native: 0, node: 0 }, backend: { native: 0, node: 0 } }),
  connectionBudgets: () => ({}),
};

/** Families of a registry, without the process metrics (documented as a group). */
const families = (names: string[]) => names.filter((n) => !/^(dbproxy_process_|process_|nodejs_)/.test(n)).sort();
const documented = new Set([...DOC.matchAll(/^\| `(dbproxy_[a-z_]+)` \|/gm)].map((m) => m[1]!));

it('docs/metrics.md has a row for every metric of the proxy and of the operator, and none more', () => {
  const proxy = families(new ProxyMetrics(source).registry.getMetricsAsArray().map((m) => m.name));
  const operator = families(new OperatorMetrics().registry.getMetricsAsArray().map((m) => m.name));
  expect(proxy.length).toBeGreaterThan(15);
  expect([...documented].sort()).toEqual([...proxy, ...operator].sort());
});
