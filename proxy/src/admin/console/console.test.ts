// The console's protocol rules with a stand-in host: answers are read back with node-postgres' parser.
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import { describe, expect, it } from 'vitest';
import type { Conn } from '../../io/conn.js';
import type { ErrorInfo } from '../../protocol/messages.js';
import { ConsoleError } from './commands.js';
import { AdminConsole, consoleRefusal, type ConsoleLink } from './console.js';
import type { ConsoleHost } from './host.js';
import { int, text } from './rows.js';

type Msg = { name: string } & Record<string, unknown>;

class Harness implements ConsoleLink {
  out: Buffer[] = [];
  ended = false;
  fatal: ErrorInfo | undefined;
  readonly conn = { write: (b: Buffer) => (this.out.push(b), true) } as unknown as Conn;
  pause = { resolve: () => {}, reject: (_e: Error) => {} };
  resumed: (string | undefined)[] = [];
  readonly host: ConsoleHost = {
    isAdmin: (u) => u === 'admin',
    show: (what) => ({ columns: [text('what'), int('n')], rows: [[what, 1]], tag: 'SHOW' }),
    reload: () => Promise.reject(new Error('invalid config (f):\n  - pool.maxConnections: must be at least 1')),
    pause: () => new Promise<void>((resolve, reject) => (this.pause = { resolve, reject })),
    resume: (db) => {
      if (db === 'nope') throw new ConsoleError('55000', 'database "nope" is not paused');
      this.resumed.push(db);
    },
    serverVersion: () => '15.4',
  };
  readonly console = new AdminConsole(this.host, this);

  guard(f: () => void): void {
    f();
  }
  closeSocket(fatal?: ErrorInfo): void {
    this.ended = true;
    this.fatal = fatal;
  }
  send(...messages: Buffer[]): void {
    for (const b of messages) this.console.onMessage(b, 0, b.length);
  }
  /** What was written since the last call, as node-postgres reads it. */
  take(): Msg[] {
    const msgs: Msg[] = [];
    new Parser().parse(Buffer.concat(this.out), (m) => msgs.push(m as unknown as Msg));
    this.out = [];
    return msgs;
  }
  names(): string[] {
    return this.take().map((m) => (m.name === 'error' ? `error ${String(m['code'])}` : m.name === 'commandComplete' ? `C ${String(m['text'])}` : m.name));
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('AdminConsole', () => {
  it('welcomes with the server version, its key and ReadyForQuery', () => {
    const h = new Harness();
    h.out.push(h.console.welcome(new Map([['application_name', 'psql']]), { processId: 7, secretKey: 9 }));
    const msgs = h.take();
    const params = Object.fromEntries(msgs.filter((m) => m.name === 'parameterStatus').map((m) => [m['parameterName'], m['parameterValue']]));
    expect(params).toMatchObject({ server_version: '15.4', client_encoding: 'UTF8', application_name: 'psql', standard_conforming_strings: 'on' });
    expect(msgs.slice(-2).map((m) => m.name)).toEqual(['backendKeyData', 'readyForQuery']);
  });

  it('answers SHOW with a result set, an unknown command with an error, each with ReadyForQuery', () => {
    const h = new Harness();
    h.send(serialize.query('show pools;'));
    const msgs = h.take();
    expect(msgs.map((m) => m.name)).toEqual(['rowDescription', 'dataRow', 'commandComplete', 'readyForQuery']);
    expect(msgs[1]!['fields']).toEqual(['pools', '1']);
    h.send(serialize.query('SELECT 1'), serialize.query('SHOW HELP'), serialize.query(' '));
    expect(h.names()).toEqual(['error 42601', 'readyForQuery', 'notice', 'C SHOW', 'readyForQuery', 'emptyQuery', 'readyForQuery']);
    expect(h.ended).toBe(false);
  });

  it('answers an extended-protocol batch with one error, skips to Sync, then goes on', () => {
    const h = new Harness();
    h.send(
      serialize.parse({ text: 'SHOW POOLS' }),
      serialize.bind({}),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.flush(),
      serialize.sync(),
    );
    expect(h.names()).toEqual(['error 0A000', 'readyForQuery']);
    h.send(serialize.query('SHOW STATS'));
    expect(h.names()).toEqual(['rowDescription', 'dataRow', 'C SHOW', 'readyForQuery']);
  });

  it('RESUME answers at once; a refused one is an error and the session goes on', () => {
    const h = new Harness();
    h.send(serialize.query('RESUME app'), serialize.query('RESUME nope'));
    expect(h.names()).toEqual(['C RESUME', 'readyForQuery', 'error 55000', 'readyForQuery']);
    expect(h.resumed).toEqual(['app']);
  });

  it('PAUSE answers when the host says drained; queries sent meanwhile wait their turn', async () => {
    const h = new Harness();
    h.send(serialize.query('PAUSE'), serialize.query('SHOW POOLS'));
    await tick();
    expect(h.names()).toEqual([]);
    h.pause.resolve();
    await tick();
    expect(h.names()).toEqual(['C PAUSE', 'readyForQuery', 'rowDescription', 'dataRow', 'C SHOW', 'readyForQuery']);
  });

  it('a cancel ends a waiting PAUSE with 57014; its later completion says nothing more', async () => {
    const h = new Harness();
    h.send(serialize.query('PAUSE app'));
    h.console.cancel();
    const msgs = h.take();
    expect(msgs.map((m) => m.name)).toEqual(['error', 'readyForQuery']);
    expect([msgs[0]!['code'], msgs[0]!['detail']]).toEqual(['57014', 'PAUSE stopped waiting; the pools stay paused (RESUME resumes them).']);
    h.pause.resolve();
    await tick();
    expect(h.names()).toEqual([]);
    h.console.cancel(); // nothing runs: nothing to cancel
    expect(h.names()).toEqual([]);
  });

  it('a failed RELOAD is an error (F0000) naming the problem', async () => {
    const h = new Harness();
    h.send(serialize.query('RELOAD'));
    await tick();
    const msgs = h.take();
    expect([msgs[0]!['code'], msgs[0]!['message']]).toEqual(['F0000', 'invalid config (f):\n  - pool.maxConnections: must be at least 1']);
    expect(msgs[1]!.name).toBe('readyForQuery');
  });

  it('Terminate closes the session, even while a command waits', () => {
    const h = new Harness();
    h.send(serialize.query('PAUSE'), serialize.end());
    expect(h.ended).toBe(true);
    expect(h.fatal).toBeUndefined();
  });

  it('refuses a user who is not an admin with 42501', () => {
    const h = new Harness();
    expect(consoleRefusal(h.host, 'admin')).toBeUndefined();
    expect(consoleRefusal(h.host, 'app')).toEqual({
      severity: 'FATAL',
      code: '42501',
      message: 'permission denied for database "dbproxy"',
      detail: '"dbproxy" is the proxy\'s admin console, and user "app" is not among its admin users (admin.users).',
    });
  });
});
