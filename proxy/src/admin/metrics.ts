/**
 * Prometheus metrics, named after RDS Proxy's CloudWatch metrics. Gauges are computed when scraped
 * from the proxy's own state, so the hot path pays only for the counters and the borrow histogram.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSource {
  clientConnections(): number;
  databaseConnections(): { idle: number; active: number; opening: number };
  pinnedConnections(): number;
  targetGeneration(): number;
  /** Open connections by leg (client, backend) and by the mover that carries their bytes. */
  connectionsByMover(): Record<'client' | 'backend', Record<'native' | 'node', number>>;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly borrowLatency: Histogram;
  readonly borrowTimeouts: Counter;
  readonly pins: Counter<'reason'>;
  readonly failovers: Counter;
  readonly sessionErrors: Counter<'kind'>;
  readonly backendOpenFailures: Counter<'reason'>;

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
      name: 'dbproxy_database_connections',
      help: 'Connections from the proxy to the database, by state (idle in the pool, active for a client, opening).',
      labelNames: ['state'],
      registers,
      collect() {
        const c = source.databaseConnections();
        this.set({ state: 'idle' }, c.idle);
        this.set({ state: 'active' }, c.active);
        this.set({ state: 'opening' }, c.opening);
      },
    });
    new Gauge({
      name: 'dbproxy_database_connections_currently_session_pinned',
      help: 'Database connections pinned to one client session.',
      registers,
      collect() {
        this.set(source.pinnedConnections());
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
      name: 'dbproxy_io_connections',
      help: 'Open connections by leg (client, backend) and by the mover that carries their bytes (native I/O core, or Node sockets for TLS and where the core is not built).',
      labelNames: ['leg', 'mover'],
      registers,
      collect() {
        const c = source.connectionsByMover();
        for (const leg of ['client', 'backend'] as const) for (const mover of ['native', 'node'] as const) this.set({ leg, mover }, c[leg][mover]);
      },
    });
    this.borrowLatency = new Histogram({
      name: 'dbproxy_borrow_latency_seconds',
      help: 'Time a client waited to borrow a database connection.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    });
    this.borrowTimeouts = new Counter({
      name: 'dbproxy_borrow_timeouts_total',
      help: 'Borrow attempts that gave up after connectionBorrowTimeout.',
      registers,
    });
    this.pins = new Counter({
      name: 'dbproxy_session_pins_total',
      help: 'Client sessions pinned to a database connection, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.failovers = new Counter({
      name: 'dbproxy_failovers_total',
      help: 'Target changes (failover flips) the proxy followed.',
      registers,
    });
    this.backendOpenFailures = new Counter({
      name: 'dbproxy_database_connection_failures_total',
      help: 'Failed attempts to open a database connection, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.sessionErrors = new Counter({
      name: 'dbproxy_client_session_errors_total',
      help: 'Client sessions ended on an error in their own handling, by kind (protocol_violation, server_message, internal).',
      labelNames: ['kind'],
      registers,
    });
  }
}
