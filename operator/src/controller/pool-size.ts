/**
 * Per-pod pool size, RDS Proxy style: the fleet may use maxConnectionsPercent of the writer's
 * max_connections, split evenly across the proxy replicas.
 */

/**
 * Used while the writer's max_connections is unknown (no successful probe yet): PostgreSQL's own
 * default, so a fresh fleet never asks for more than a stock server allows. The config is re-rendered
 * with the real value after the first successful probe.
 */
export const DEFAULT_MAX_CONNECTIONS = 100;

export function poolSizePerPod(maxConnections: number | undefined, maxConnectionsPercent: number, replicas: number): number {
  const max = maxConnections !== undefined && Number.isFinite(maxConnections) && maxConnections > 0 ? maxConnections : DEFAULT_MAX_CONNECTIONS;
  const pct = Math.min(100, Math.max(0, maxConnectionsPercent));
  return Math.max(1, Math.floor((max * pct) / 100 / Math.max(1, replicas)));
}

/**
 * Per-pod size of the reader pools: their connections go round-robin over the readers, so each reader
 * gets about 1/n of them, and the smallest reader bounds every share. Undefined while no reader's
 * max_connections is known (the pods then use the writer's size).
 */
export function readerPoolSizePerPod(
  readerMaxConnections: readonly (number | undefined)[],
  maxConnectionsPercent: number,
  replicas: number,
): number | undefined {
  const known = readerMaxConnections.filter((m): m is number => m !== undefined && Number.isFinite(m) && m > 0);
  if (known.length === 0) return undefined;
  return poolSizePerPod(Math.min(...known) * known.length, maxConnectionsPercent, replicas);
}

/** Idle connections kept per pod: maxIdleConnectionsPercent of the pool, never more than the pool. */
export function idlePerPod(poolSize: number, maxIdleConnectionsPercent: number): number {
  return Math.min(poolSize, Math.max(0, Math.floor((poolSize * maxIdleConnectionsPercent) / 100)));
}

/**
 * A per-database or per-user limit per pod: `percent` of the pod's connections, at least one (the
 * pods' budget holds it as pool.maxDbConnections / pool.maxUserConnections).
 */
export function limitPerPod(poolSize: number, percent: number): number {
  return Math.max(1, Math.floor((poolSize * Math.min(100, Math.max(0, percent))) / 100));
}
