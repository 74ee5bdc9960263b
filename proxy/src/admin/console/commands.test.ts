import { describe, expect, it } from 'vitest';
import { parseCommand, type Command } from './commands.js';

const cases: [string, Command | { kind: 'error'; code: string; match: RegExp }][] = [
  ['SHOW POOLS', { kind: 'show', what: 'pools' }],
  ['show pools;', { kind: 'show', what: 'pools' }],
  ['  Show   Clients  ;  ', { kind: 'show', what: 'clients' }],
  ['SHOW SERVERS', { kind: 'show', what: 'servers' }],
  ['SHOW STATS', { kind: 'show', what: 'stats' }],
  ['show config', { kind: 'show', what: 'config' }],
  ['SHOW HELP', { kind: 'show', what: 'help' }],
  ['\nSHOW\tPOOLS\n', { kind: 'show', what: 'pools' }],
  ['RELOAD', { kind: 'reload' }],
  ['reload;', { kind: 'reload' }],
  ['PAUSE', { kind: 'pause' }],
  ['pause app', { kind: 'pause', database: 'app' }],
  ['PAUSE MyDb;', { kind: 'pause', database: 'MyDb' }],
  ['PAUSE "my db"', { kind: 'pause', database: 'my db' }],
  ['PAUSE "a""b"', { kind: 'pause', database: 'a"b' }],
  ['RESUME', { kind: 'resume' }],
  ['resume app ;', { kind: 'resume', database: 'app' }],
  ['', { kind: 'empty' }],
  ['  ;  ', { kind: 'empty' }],
  ['SELECT 1', { kind: 'error', code: '42601', match: /unknown admin console command "SELECT"/ }],
  ['SHOW', { kind: 'error', code: '42601', match: /SHOW needs what to show/ }],
  ['SHOW POOLS CLIENTS', { kind: 'error', code: '42601', match: /expected SHOW what/ }],
  ['SHOW TABLES', { kind: 'error', code: '42601', match: /SHOW TABLES is not an admin console command/ }],
  ['SHOW DATABASES', { kind: 'error', code: '0A000', match: /SHOW DATABASES is a PgBouncer command/ }],
  ['KILL app', { kind: 'error', code: '0A000', match: /KILL is a PgBouncer command/ }],
  ['set x = 1', { kind: 'error', code: '0A000', match: /SET is a PgBouncer command/ }],
  ['RELOAD now', { kind: 'error', code: '42601', match: /expected RELOAD/ }],
  ['PAUSE a b', { kind: 'error', code: '42601', match: /expected PAUSE \[database\]/ }],
  ['PAUSE "open', { kind: 'error', code: '42601', match: /unterminated quoted identifier/ }],
  ['SHOW POOLS; SHOW CLIENTS', { kind: 'error', code: '42601', match: /expected SHOW what/ }],
];

describe('parseCommand', () => {
  it.each(cases)('%j', (sql, want) => {
    const got = parseCommand(sql);
    if ('match' in want) {
      expect(got.kind).toBe('error');
      if (got.kind !== 'error') return;
      expect(got.code).toBe(want.code);
      expect(got.message).toMatch(want.match);
      expect(got.hint).toMatch(/SHOW HELP/);
    } else {
      expect(got).toEqual(want);
    }
  });
});
