/**
 * Test support: clients running transactions in a loop through a node-postgres Pool, as an
 * application does, counting what a proxy restart costs them. Each new connection goes to the
 * address `pick()` gives at that moment (what a Service's endpoints would route to).
 *
 * Counted: `ok` (committed), `failed` (an error after BEGIN succeeded: a transaction the
 * application lost), `retried` (the connection was already dead when the transaction began — BEGIN
 * failed on a reused connection, nothing ran — and the loop retried on a new one), `reconnects`
 * (connections the Pool discarded because the proxy told them to go, 57P01, or closed them while idle),
 * `connectFailures` (opening a connection failed; retried).
 */
import pg from 'pg';

export interface Address {
  host: string;
  port: number;
}

export interface LoopOptions {
  /** Where the next new connection goes. */
  pick: () => Address | Promise<Address>;
  user: string;
  password?: string;
  database?: string;
  workers: number;
  /** The table each transaction inserts one row into (column n int). */
  table: string;
  /** Seconds each transaction sleeps inside, so some are mid-transaction at any moment. */
  sleepSeconds?: number;
}

export interface LoopCounts {
  ok: number;
  failed: number;
  retried: number;
  reconnects: number;
  connectFailures: number;
  /** The first few errors that counted as failed, for the report. */
  failures: string[];
  /** The last error of any kind (connect failures and retries too), for a report when nothing works. */
  lastError?: string;
}

export interface TxLoop {
  counts: LoopCounts;
  /** Stops the workers after their current transaction and ends the Pool. */
  stop(): Promise<LoopCounts>;
}

export function startTxLoop(o: LoopOptions): TxLoop {
  const counts: LoopCounts = { ok: 0, failed: 0, retried: 0, reconnects: 0, connectFailures: 0, failures: [] };
  let stopping = false;
  let current: Address = { host: '127.0.0.1', port: 0 };
  // A Client that takes its address when the Pool makes it: new connections follow `pick`.
  class Routed extends pg.Client {
    constructor(cfg: pg.ClientConfig) {
      // pg-pool keeps the password non-enumerable: a spread alone would drop it.
      super({ ...cfg, password: cfg.password, ...current });
    }
  }
  const pool = new pg.Pool({
    Client: Routed as unknown as typeof pg.Client,
    user: o.user,
    database: o.database ?? 'postgres',
    max: o.workers,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 5_000,
    ...(o.password !== undefined && { password: o.password }),
  });
  // An idle pooled connection that got 57P01 or was closed: the Pool drops it and opens a new one.
  pool.on('error', () => counts.reconnects++);

  const one = async (): Promise<void> => {
    let client: pg.PoolClient;
    try {
      current = await o.pick();
      client = await pool.connect();
    } catch (err) {
      counts.connectFailures++;
      counts.lastError = `connect: ${(err as Error).message}`;
      await new Promise((r) => setTimeout(r, 100));
      return;
    }
    let begun = false;
    // Checked out, a connection's errors are the holder's to hear (node-postgres' docs): the proxy's
    // 57P01 comes right after the ReadyForQuery that ended the transaction, before the release.
    let told: Error | undefined;
    const onError = (err: Error) => (told ??= err);
    client.on('error', onError);
    try {
      await client.query('begin');
      begun = true;
      await client.query(`insert into ${o.table} (n) values (1)`);
      if (o.sleepSeconds) await client.query('select pg_sleep($1)', [o.sleepSeconds]);
      await client.query('commit');
      counts.ok++;
      if (told) counts.reconnects++;
      client.removeListener('error', onError);
      client.release(told); // a connection told to go leaves the Pool
    } catch (err) {
      client.removeListener('error', onError);
      client.release(err as Error); // a broken connection leaves the Pool
      counts.lastError = `${begun ? 'in a transaction' : 'begin'}: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
      if (begun) {
        counts.failed++;
        if (counts.failures.length < 5) counts.failures.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
      } else counts.retried++;
    }
  };

  const workers = Array.from({ length: o.workers }, async () => {
    while (!stopping) await one();
  });
  return {
    counts,
    async stop() {
      stopping = true;
      await Promise.all(workers);
      await pool.end();
      return counts;
    },
  };
}
