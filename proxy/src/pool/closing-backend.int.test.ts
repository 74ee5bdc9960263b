/**
 * A backend the proxy closes while its server still owes replies (the client left mid-request):
 * those replies are never anyone's — the next client gets only its own — and they are not logged
 * as a reply an idle pooled connection sent unasked (that warning means a broken release rule).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../testing/postgres.js';
import { dataRow, RawClient } from '../testing/raw-client.js';
import { startProxy, type TestProxy } from '../testing/start-proxy.js';
import { waitFor } from '../testing/wait.js';
import { query } from '../testing/wire.js';

let db: PgInstance;
let proxy: TestProxy;
const warnings: string[] = [];

beforeAll(async () => {
  db = await startPostgres({ authMethod: 'trust' });
  const sink = new Writable({
    write(line: Buffer, _enc, done) {
      warnings.push(line.toString('utf8'));
      done();
    },
  });
  // One database connection: the second client can only run once the first one's is gone or free.
  proxy = await startProxy({ targets: [`127.0.0.1:${db.port}`], auth: { method: 'trust' }, pool: { maxConnections: 1 } }, pino({ level: 'warn' }, sink));
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await db?.stop();
});

/** The server processes still running one of `marker`'s statements (or waiting to). */
async function serverRuns(marker: string): Promise<number> {
  const r = await db.query(`select count(*)::int as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`, [`%${marker}%`]);
  return r.rows[0].n as number;
}

describe('a backend closed while its server still owes replies', () => {
  it('sends them to nobody: the next client sees only its own rows, and nothing is logged as a stray reply', async () => {
    const first = await RawClient.connect(proxy.port);
    // A slow statement, then more it will never read: the client vanishes while the first runs.
    const rest = Array.from({ length: 20 }, (_, i) => query(`select 'first-client-row-${i}' as v`));
    first.send(query(`select pg_sleep(0.5), 'first-client-sleep'`), ...rest);
    await waitFor(async () => (await serverRuns('first-client-sleep')) > 0, 'the first client’s statement runs on the server');
    first.end();
    await first.closed;

    // Its backend finishes what it was sent (Terminate comes after it), answering into the closed connection.
    const second = await RawClient.connect(proxy.port);
    second.send(query(`select 'second-client' as v`));
    const reply = await second.untilReady();
    expect(reply.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    expect(dataRow(reply[1]!)).toEqual(['second-client']);
    await waitFor(async () => (await serverRuns('first-client')) === 0, 'the first client’s backend is gone from the server');
    second.send(query(`select 'second-client-again' as v`));
    const again = await second.untilReady();
    expect(again.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    expect(dataRow(again[1]!)).toEqual(['second-client-again']);
    second.end();

    expect(warnings.filter((w) => w.includes('nothing asked for'))).toEqual([]);
  }, 30_000);
});
