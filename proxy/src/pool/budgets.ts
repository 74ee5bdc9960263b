/**
 * The proxy's two connection budgets, one per endpoint (the writer's pools; the reader endpoint's,
 * which open connections on the standbys), and the limits a config gives them and their pools.
 */
import type { ProxyConfig } from '../../../contract/config/schema.js';
import { Budget, type BudgetLimits, type BudgetSnapshot } from './budget.js';
import type { PoolLimits } from './pool.js';

export type Endpoint = 'writer' | 'reader';

/**
 * The endpoint's per-pod budget: `pool.maxConnections`, or `reader.pool.maxConnections` for the
 * reader's pools where it is set; the per-database and per-user limits are the same for both.
 */
export function budgetLimits(config: ProxyConfig, endpoint: Endpoint): BudgetLimits {
  const p = config.pool;
  const reader = endpoint === 'reader' ? config.reader?.pool?.maxConnections : undefined;
  return { maxConnections: reader ?? p.maxConnections, maxDbConnections: p.maxDbConnections, maxUserConnections: p.maxUserConnections };
}

/**
 * One pool may grow to what its database's and its user's limits leave of the budget (there is no
 * smaller per-pool size: the budget's FIFO keeps one pool from starving the others). Idle
 * connections are kept per pool, never more than it may hold.
 */
export function poolLimits(config: ProxyConfig, endpoint: Endpoint): PoolLimits {
  const b = budgetLimits(config, endpoint);
  const maxConnections = Math.min(b.maxConnections, b.maxDbConnections || Infinity, b.maxUserConnections || Infinity);
  const idle = (endpoint === 'reader' ? config.reader?.pool?.maxIdleConnections : undefined) ?? config.pool.maxIdleConnections;
  return { maxConnections, maxIdleConnections: Math.min(idle, maxConnections), borrowTimeoutMs: config.pool.borrowTimeout };
}

export class EndpointBudgets {
  readonly writer: Budget;
  readonly reader: Budget;

  constructor(config: ProxyConfig) {
    this.writer = new Budget(budgetLimits(config, 'writer'), 'writer');
    this.reader = new Budget(budgetLimits(config, 'reader'), 'reader');
  }

  of(endpoint: Endpoint): Budget {
    return endpoint === 'reader' ? this.reader : this.writer;
  }

  /** A reloaded config: new limits, at once (waiting pools may open; idle connections above close). */
  apply(config: ProxyConfig): void {
    this.writer.setLimits(budgetLimits(config, 'writer'));
    this.reader.setLimits(budgetLimits(config, 'reader'));
  }

  snapshot(withReader: boolean): { writer: BudgetSnapshot; reader?: BudgetSnapshot } {
    return withReader ? { writer: this.writer.snapshot(), reader: this.reader.snapshot() } : { writer: this.writer.snapshot() };
  }

  /** For /status: each budget with the borrowers waiting in its pools. */
  status(
    pools: Iterable<{ endpoint: Endpoint; pool: { waiting: number } }>,
    withReader: boolean,
  ): Partial<Record<Endpoint, BudgetSnapshot & { waiting: number }>> {
    const waiting = { writer: 0, reader: 0 };
    for (const h of pools) waiting[h.endpoint] += h.pool.waiting;
    const out: Partial<Record<Endpoint, BudgetSnapshot & { waiting: number }>> = {};
    for (const [e, b] of Object.entries(this.snapshot(withReader)) as [Endpoint, BudgetSnapshot][]) out[e] = { ...b, waiting: waiting[e] };
    return out;
  }
}
