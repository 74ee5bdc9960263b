/**
 * Prometheus metrics, named after RDS Proxy's CloudWatch metrics (docs/metrics.md lists each, with
 * its labels). Gauges are computed when scraped from the proxy's own state, so the hot path pays only
 * for the counters and the two per-pool histograms, whose children a pool resolves once (see
 * pool-histogram.ts). Per-pool metrics carry `database`, `user` and `endpoint` (writer | reader);
 * the operator's PodMonitor honors these labels over the `endpoint` target label Prometheus sets.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SETUP_FAILURES, type SetupFailure } from '../client/setup-failure.js';
import { LIMIT_REASONS, type LimitReason } from '../client/limits.js';
import { CANCEL_RESULTS } from '../client/cancel-keys.js';
import { PoolHistogram, type HistogramChild } from './pool-histogram.js';

const POOL_LABELS = ['database', 'user', 'endpoint'] as const;
type PoolLabel = (typeof POOL_LABELS)[number];

export interface PoolLabels {
  database: string;
  user: string;
  endpoint: 'writer' | 'reader';
}

/** One pool as the scrape sees it. */
export interface PoolSample extends PoolLabels {
  idle: number;
  active: number;
  opening: number;
  /** Database connections pinned to one client session. */
  pinned: number;
  /** Clients queued for a database connection. */
  waiting: number;
  /** The most database connections the pool may open (the pod's budget, or its database's or user's limit if smaller). */
  maxConnections: number;
}

export interface MetricsSource {
  clientConnections(): number;
  /** Client connections not (or not yet) upgraded to TLS. */
  clientConnectionsNoTls(): number;
  pools(): Iterable<PoolSample>;
  /** A writer is available; with a reader endpoint, `reader` says whether a standby is. */
  targetAvailability(): { writer: boolean; reader?: boolean };
  targetGeneration(): number;
  /** Open connections by leg (client, backend) and by the mover that carries their bytes. */
  connectionsByMover(): Record<'client' | 'backend', Record<'native' | 'node', number>>;
  /** The pod's connection budget per endpoint (pool/budget.ts): its limit and the slots held. */
  connectionBudgets?(): Partial<Record<'writer' | 'reader', { maxConnections: number; inUse: number }>>;
  /** The proxy got its stop signal and is draining (proxy/src/drain.ts). */
  draining?(): boolean;
  /** When the serving client-leg TLS certificate expires (Unix seconds); undefined without TLS (tls/reloader.ts). */
  tlsNotAfter?(): number | undefined;
}

/** What one pool updates on its own path; made once per pool, so no label lookups per transaction. */
export interface PoolMetrics {
  readonly borrowLatency: HistogramChild;
  /** Seconds from a unit of work's request being sent to its backend until ReadyForQuery released it. */
  readonly queryLatency: HistogramChild;
  borrowTimedOut(): void;
  openFailed(reason: string): void;
  pinned(reason: string): void;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly borrowLatency: PoolHistogram<PoolLabel>;
  readonly queryLatency: PoolHistogram<PoolLabel>;
  readonly borrowTimeouts: Counter<PoolLabel>;
  readonly pins: Counter<'reason' | PoolLabel>;
  readonly failovers: Counter;
  readonly sessionErrors: Counter<'kind'>;
  readonly backendOpenFailures: Counter<'reason' | PoolLabel>;
  readonly setupFailures: Counter<'reason'>;
  /** Changes of the client-leg TLS files seen, by result: success (served now) or failure (refused; the running certificate stays). */
  readonly tlsReloads: Counter<'result'>;
  readonly limitRefusals: Counter<'reason'>;
  /** CancelRequests by what became of them (client/cancel-keys.ts, CANCEL_RESULTS). */
  readonly cancelRequests: Counter<'result'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'dbproxy_process_' });
    new Gauge({
      name: 'dbproxy_client_connections',
      help: 'Client connections open to the proxy.',
      registers,
      collect() {
        this.set(source.clientConnections());
      },
    });
    new Gauge({
      name: 'dbproxy_client_connections_no_tls',
      help: 'Client connections open to the proxy without TLS (plaintext, or not upgraded yet).',
      registers,
      collect() {
        this.set(source.clientConnectionsNoTls());
      },
    });
    perPool(
      'dbproxy_database_connections',
      'Connections from the proxy to the database, by pool and state (idle in the pool, active for a client, opening).',
      ['state'],
      (g, p) => {
        g.set({ ...labelsOf(p), state: 'idle' }, p.idle);
        g.set({ ...labelsOf(p), state: 'active' }, p.active);
        g.set({ ...labelsOf(p), state: 'opening' }, p.opening);
      },
    );
    perPool('dbproxy_database_connections_currently_session_pinned', 'Database connections pinned to one client session, by pool.', [], (g, p) =>
      g.set(labelsOf(p), p.pinned),
    );
    perPool('dbproxy_client_connections_waiting', 'Client connections queued for a database connection, by pool.', [], (g, p) => g.set(labelsOf(p), p.waiting));
    perPool(
      'dbproxy_pool_max_connections',
      'The most database connections a pool may open: pool.maxConnections (the budget all pools of the pod share), or pool.maxDbConnections / pool.maxUserConnections if smaller.',
      [],
      (g, p) => g.set(labelsOf(p), p.maxConnections),
    );
    new Gauge({
      name: 'dbproxy_target_available',
      help: 'Whether the target is available to this proxy, by role: 1 while a writer is (role="writer"); with a reader endpoint, 1 while at least one standby is (role="reader").',
      labelNames: ['role'],
      registers,
      collect() {
        const a = source.targetAvailability();
        this.set({ role: 'writer' }, a.writer ? 1 : 0);
        if (a.reader !== undefined) this.set({ role: 'reader' }, a.reader ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dbproxy_target_generation',
      help: 'Generation of the current target (increments on every failover flip).',
      registers,
      collect() {
        this.set(source.targetGeneration());
      },
    });
    new Gauge({
      name: 'dbproxy_draining',
      help: '1 from the stop signal on (SIGTERM: unready, then draining clients), else 0.',
      registers,
      collect() {
        this.set(source.draining?.() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dbproxy_tls_certificate_not_after_seconds',
      help: 'When the serving client-leg TLS certificate expires (Unix time); 0 without TLS.',
      registers,
      collect() {
        this.set(source.tlsNotAfter?.() ?? 0);
      },
    });
    this.tlsReloads = zeroedCounter(
      registers,
      'dbproxy_tls_certificate_reloads_total',
      'Changes of the client-leg TLS certificate files seen, by result (success: new handshakes get the new certificate; failure: refused, the running one stays).',
      'result',
      ['success', 'failure'],
    );
    new Gauge({
      name: 'dbproxy_io_connections',
      help: 'Open connections by leg (client, backend) and by the mover that carries their bytes (native I/O core, or Node sockets for TLS and where the core is not built).',
      labelNames: ['leg', 'mover'],
      registers,
      collect() {
        const c = source.connectionsByMover();
        for (const leg of ['client', 'backend'] as const) for (const mover of ['native', 'node'] as const) this.set({ leg, mover }, c[leg][mover]);
      },
    });
    this.borrowLatency = new PoolHistogram(
      'dbproxy_borrow_latency_seconds',
      'Time a client waited to borrow a database connection, by pool.',
      POOL_LABELS,
      [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      this.registry,
    );
    this.queryLatency = new PoolHistogram(
      'dbproxy_query_response_latency_seconds',
      'Time from a unit of work (a transaction, or a statement outside one) being sent to the database until the ReadyForQuery that ended it, by pool; pinned sessions are not counted.',
      POOL_LABELS,
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      this.registry,
    );
    this.borrowTimeouts = new Counter({
      name: 'dbproxy_borrow_timeouts_total',
      help: 'Borrow attempts that gave up after connectionBorrowTimeout, by pool.',
      labelNames: POOL_LABELS,
      registers,
    });
    this.pins = new Counter({
      name: 'dbproxy_session_pins_total',
      help: 'Client sessions pinned to a database connection, by reason and pool.',
      labelNames: ['reason', ...POOL_LABELS],
      registers,
    });
    this.failovers = new Counter({
      name: 'dbproxy_failovers_total',
      help: 'Target changes (failover flips) the proxy followed.',
      registers,
    });
    this.backendOpenFailures = new Counter({
      name: 'dbproxy_database_connection_failures_total',
      help: 'Failed attempts to open a database connection, by reason (the error class) and pool.',
      labelNames: ['reason', ...POOL_LABELS],
      registers,
    });
    this.setupFailures = zeroedCounter(
      registers,
      'dbproxy_client_connection_setup_failures_total',
      'Client connections refused before they were ready for queries, by reason (auth, tls, limits, timeout, backend, protocol, unsupported, shutdown).',
      'reason',
      SETUP_FAILURES,
    );
    this.limitRefusals = zeroedCounter(
      registers,
      'dbproxy_client_connections_refused_total',
      'Client connections refused or closed by one of the limits, by reason (max_client_connections, max_client_connections_per_user, startup_timeout, authentication_timeout).',
      'reason',
      LIMIT_REASONS,
    );
    this.cancelRequests = zeroedCounter(
      registers,
      'dbproxy_cancel_requests_total',
      "CancelRequests, by result: local (sent to the database server running that client's request), not_running (its client runs nothing now), forwarded (to the peer proxy that owns the key), forward_failed, busy (too many forwards in flight), unknown (no such key here or on a peer).",
      'result',
      CANCEL_RESULTS,
    );
    this.sessionErrors = new Counter({
      name: 'dbproxy_client_session_errors_total',
      help: 'Client sessions ended on an error in their own handling, by kind (protocol_violation, server_message, internal).',
      labelNames: ['kind'],
      registers,
    });
    const budgets = source.connectionBudgets?.bind(source);
    if (budgets) {
      new Gauge({
        name: 'dbproxy_connection_budget_max_connections',
        help: "The pod's connection budget, by endpoint: the most database connections all its pools may hold together (pool.maxConnections; reader.pool.maxConnections).",
        labelNames: ['endpoint'],
        registers,
        collect() {
          for (const [endpoint, b] of Object.entries(budgets())) this.set({ endpoint }, b.maxConnections);
        },
      });
      new Gauge({
        name: 'dbproxy_connection_budget_used_connections',
        help: "Database connections held against the pod's budget, by endpoint: open, opening, or closed by the proxy and not yet gone on the server.",
        labelNames: ['endpoint'],
        registers,
        collect() {
          for (const [endpoint, b] of Object.entries(budgets())) this.set({ endpoint }, b.inUse);
        },
      });
    }

    /** A gauge with one series per pool (and `extra` labels), rebuilt at each scrape: gone pools vanish. */
    function perPool(name: string, help: string, extra: string[], set: (g: Gauge<string>, p: PoolSample) => void): void {
      new Gauge({
        name,
        help,
        labelNames: [...POOL_LABELS, ...extra],
        registers,
        collect() {
          this.reset();
          for (const p of source.pools()) set(this, p);
        },
      });
    }
  }

  /** The pool's own updaters; its counters start at 0 so a first timeout shows as an increase. */
  forPool(labels: PoolLabels): PoolMetrics {
    const l = labelsOf(labels);
    this.borrowTimeouts.inc(l, 0);
    const borrowTimeouts = this.borrowTimeouts.labels(l);
    return {
      borrowLatency: this.borrowLatency.child(l),
      queryLatency: this.queryLatency.child(l),
      borrowTimedOut: () => borrowTimeouts.inc(),
      openFailed: (reason) => this.backendOpenFailures.inc({ ...l, reason }),
      pinned: (reason) => this.pins.inc({ ...l, reason }),
    };
  }

  /** A pool that is gone: its series stop being exported. */
  forgetPool(labels: PoolLabels): void {
    const l = labelsOf(labels);
    this.borrowLatency.remove(l);
    this.queryLatency.remove(l);
    this.borrowTimeouts.remove(l);
  }

  setupFailed(reason: SetupFailure): void {
    this.setupFailures.inc({ reason });
  }

  limitReached(reason: LimitReason): void {
    this.limitRefusals.inc({ reason });
  }
}

/** A counter with one label, every value of which is exported from the start (at 0), so rates work before the first event. */
function zeroedCounter<L extends string>(registers: Registry[], name: string, help: string, label: L, values: readonly string[]): Counter<L> {
  const c = new Counter<L>({ name, help, labelNames: [label], registers });
  for (const v of values) c.inc({ [label]: v } as Partial<Record<L, string>>, 0);
  return c;
}

function labelsOf(p: PoolLabels): Record<PoolLabel, string> {
  return { database: p.database, user: p.user, endpoint: p.endpoint };
}
