/**
 * The failover bench's clients: each runs BEGIN; INSERT … RETURNING the server's address; COMMIT in
 * a loop, records which server committed and when, and classifies what went wrong: an error at BEGIN
 * (the client was between transactions), an error after it (a transaction the stop cut), a dropped
 * connection.
 */
import pg from 'pg';

export interface Connector {
  /** Where clients connect (tried in turn after a drop). */
  endpoints: { host: string; port: number }[];
  /** Accept a server only if it is not in recovery (libpq's target_session_attrs=read-write). */
  requireWriter: boolean;
  /** Credentials; by default postgres without a password (the standalone bench's trust auth). */
  user?: string;
  password?: string;
  /** libpq's connect_timeout; none by default (a connect to a vanished address then waits for TCP). */
  connectTimeoutMs?: number;
}

export interface WorkloadResult {
  flipMs: number | null;
  allClientsMs: number | null;
  errorsBetween: number;
  errorsInside: number;
  drops: number;
  commitsBeforeStop: number;
  errors: string[];
  firstDrop: string | null;
  stuck: string[];
}

const RECONNECT_EVERY_MS = 20;

class LoopClient {
  client: pg.Client | undefined;
  /** When this client first committed on the new writer. */
  firstOnNew: number | undefined;
  /** What the client waits for now (reported if it never comes back). */
  step = '';
  private everConnected = false;

  constructor(
    private readonly id: number,
    private readonly w: Workload,
  ) {}

  async run(): Promise<void> {
    while (this.w.running) {
      if (!this.client && !(await this.connect())) {
        await sleep(RECONNECT_EVERY_MS);
        continue;
      }
      await this.transaction();
    }
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<boolean> {
    const { endpoints, user = 'postgres', password, connectTimeoutMs } = this.w.connector;
    // Client i starts at endpoint i mod n, so clients spread over several proxy pods.
    const rotated = endpoints.map((_, k) => endpoints[(this.id + k) % endpoints.length]!);
    for (const { host, port } of rotated) {
      const c = new pg.Client({
        host,
        port,
        user,
        password,
        database: 'postgres',
        application_name: 'failover-bench',
        ...(connectTimeoutMs ? { connectionTimeoutMillis: connectTimeoutMs } : {}),
      });
      c.on('error', (err) => this.dropped(c, err.message));
      c.on('end', () => this.dropped(c, 'the connection ended'));
      try {
        await c.connect();
        if (this.w.connector.requireWriter && (await c.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]!.r) throw new Error('a standby');
        this.client = c;
        this.everConnected = true;
        return true;
      } catch {
        c.removeAllListeners('end');
        await c.end().catch(() => undefined);
      }
    }
    return false;
  }

  private dropped(c: pg.Client, why: string): void {
    if (this.client !== c) return;
    this.client = undefined;
    if (!this.everConnected || !this.w.running) return;
    this.w.drops++;
    this.w.firstDrop ??= why;
  }

  /**
   * One transaction. An error at its BEGIN is one a client between transactions saw (goal: none);
   * an error after the BEGIN was answered is a transaction the stop cut.
   */
  private async transaction(): Promise<void> {
    const c = this.client!;
    const where = () => (this.step === 'begin' ? 'between' : 'inside');
    try {
      this.step = 'begin';
      await c.query('begin');
      this.step = 'insert';
      const r = await c.query<{ server: string }>(
        "insert into failover_log (client) values ($1) returning host(inet_server_addr()) || ':' || inet_server_port() as server",
        [this.id],
      );
      // A reply that is not this INSERT's is a proxy bug, not a failover error: report what came.
      if (r.command !== 'INSERT' || r.rows.length !== 1) throw new Error(`the INSERT got the reply of another statement: ${r.command} ${r.rowCount}`);
      this.step = 'commit';
      await c.query('commit');
      this.step = '';
      this.w.committed(this, r.rows[0]!.server);
    } catch (err) {
      this.w.error(where(), err);
      this.step = `rollback after ${this.step}`;
      await c.query('rollback').catch(() => undefined);
      this.step = '';
    }
  }
}

export class Workload {
  running = false;
  drops = 0;
  firstDrop: string | null = null;
  /** Clients that never got an answer, and what they waited for. */
  readonly stuck: string[] = [];
  private readonly clients: LoopClient[] = [];
  private loops: Promise<void>[] = [];
  private stopAt = Infinity;
  private errorsBetween = 0;
  private errorsInside = 0;
  private commitsBeforeStop = 0;
  /** The distinct errors seen (a few). */
  private readonly errorKinds: string[] = [];
  private firstOnNew: number | undefined;

  constructor(
    n: number,
    readonly connector: Connector,
    /** `host:port` of the standby that will be promoted, as the server reports itself. */
    private readonly newWriter: string,
  ) {
    for (let i = 0; i < n; i++) this.clients.push(new LoopClient(i, this));
  }

  async start(): Promise<void> {
    this.running = true;
    this.loops = this.clients.map((c) => c.run());
    // Every client connected before the clock starts.
    while (this.clients.some((c) => !c.client)) await sleep(10);
  }

  markStop(at: number): void {
    this.stopAt = at;
  }

  committed(c: LoopClient, server: string): void {
    const now = performance.now();
    if (now < this.stopAt) this.commitsBeforeStop++;
    if (server !== this.newWriter) return;
    c.firstOnNew ??= now;
    this.firstOnNew ??= now;
  }

  error(where: 'between' | 'inside', err: unknown): void {
    if (where === 'between') this.errorsBetween++;
    else this.errorsInside++;
    const what = `${where}: ${(err as Error)?.message ?? String(err)}`;
    if (!this.errorKinds.includes(what) && this.errorKinds.length < 5) this.errorKinds.push(what);
  }

  /** Waits until every client committed on the new writer (or `maxMs` after the promotion). */
  async settle(promotedAt: number, maxMs: number): Promise<void> {
    while (this.clients.some((c) => c.firstOnNew === undefined) && performance.now() - promotedAt < maxMs) await sleep(10);
  }

  /**
   * Stops the loops. A client still waiting for an answer 10 s later is stuck (a request the proxy
   * never answered): counted and reported, and its connection closed.
   */
  async stop(): Promise<void> {
    this.running = false;
    const all = Promise.all(this.loops);
    const stuck = await Promise.race([all.then(() => false), sleep(10_000).then(() => true)]);
    if (!stuck) return;
    for (const c of this.clients) {
      if (c.step === '') continue;
      this.stuck.push(c.step);
      (c.client as unknown as { connection?: { stream?: { destroy(): void } } } | undefined)?.connection?.stream?.destroy();
    }
    await all;
  }

  result(promotedAt: number): WorkloadResult {
    const firsts = this.clients.map((c) => c.firstOnNew);
    const all = firsts.every((f) => f !== undefined) ? Math.max(...(firsts as number[])) - promotedAt : null;
    return {
      flipMs: this.firstOnNew === undefined ? null : this.firstOnNew - promotedAt,
      allClientsMs: all,
      errorsBetween: this.errorsBetween,
      errorsInside: this.errorsInside,
      drops: this.drops,
      commitsBeforeStop: this.commitsBeforeStop,
      errors: this.errorKinds,
      firstDrop: this.firstDrop,
      stuck: this.stuck,
    };
  }
}

/**
 * Runs `promote` and returns the moment the server at `conn` first answers pg_is_in_recovery() =
 * false, polled every 5 ms over one connection of its own (so it can trail the real moment by a few
 * ms); `promote` may use that connection (its queries run before the polls).
 */
export async function promotionTime(conn: pg.ClientConfig, promote: (c: pg.Client) => Promise<unknown>): Promise<number> {
  const c = new pg.Client(conn);
  c.on('error', () => undefined);
  await c.connect();
  try {
    const done = promote(c);
    for (;;) {
      const r = await c.query<{ r: boolean }>('select pg_is_in_recovery() as r');
      if (!r.rows[0]!.r) {
        const at = performance.now();
        await done;
        return at;
      }
      await sleep(5);
    }
  } finally {
    await c.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
