import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../contract/config/load.js';
import { configTable, formatDuration } from './config-table.js';

const config = parseConfig(
  {
    listen: '127.0.0.1:6432',
    targets: ['db-a:5432', { host: 'db-b', port: 5433 }],
    admin: { users: ['ops'], statusToken: 'status-token-never-shown' },
    auth: {
      method: 'scram',
      users: [
        { username: 'ops', password: 'secret-ops' },
        { username: 'app', password: 'secret-app' },
      ],
    },
    pool: { maxConnections: 7, borrowTimeout: '90s' },
    healthCheck: { interval: '500ms' },
    idleClientTimeout: 0,
  },
  'test',
);

function rows(): Map<string, { value: unknown; default: unknown; changeable: unknown }> {
  const t = configTable(config);
  expect(t.columns.map((c) => c.name)).toEqual(['key', 'value', 'default', 'changeable']);
  return new Map(t.rows.map(([key, value, def, changeable]) => [key as string, { value, default: def, changeable }]));
}

describe('SHOW CONFIG', () => {
  it.each([
    ['listen', '127.0.0.1:6432', '0.0.0.0:5432', 'no'],
    ['admin.listen', '127.0.0.1:9187', '127.0.0.1:9187', 'no'],
    ['admin.statusToken', '(hidden)', null, 'yes'],
    ['admin.users', 'ops', '', 'yes'],
    ['targets', 'db-a:5432,db-b:5433', null, 'yes'],
    ['auth.method', 'scram', 'scram', 'yes'],
    ['auth.users', 'ops,app', null, 'yes'],
    ['pool.maxConnections', '7', '20', 'yes'],
    ['pool.borrowTimeout', '90s', '2m', 'yes'],
    ['pool.sessionPinningFilters', 'EXCLUDE_VARIABLE_SETS', 'EXCLUDE_VARIABLE_SETS', 'yes'],
    ['healthCheck.interval', '500ms', '1s', 'yes'],
    ['idleClientTimeout', '0s', '30m', 'yes'],
    ['io', 'auto', 'auto', 'no'],
    ['logLevel', 'info', 'info', 'no'],
  ])('%s = %s (default %s, changeable %s)', (key, value, def, changeable) => {
    expect(rows().get(key)).toEqual({ value, default: def, changeable });
  });

  it('never shows a password or the status token', () => {
    const all = JSON.stringify(configTable(config).rows);
    expect(all).not.toMatch(/secret-/);
    expect(all).not.toContain('status-token-never-shown');
  });

  it('leaves out settings that are not set (no tls, no reader)', () => {
    expect([...rows().keys()].filter((k) => k.startsWith('tls') || k.startsWith('reader'))).toEqual([]);
  });

  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1_500, '1500ms'],
    [30_000, '30s'],
    [120_000, '2m'],
    [5_400_000, '90m'],
    [7_200_000, '2h'],
  ])('formatDuration(%d) = %s', (ms, want) => expect(formatDuration(ms)).toBe(want));
});
