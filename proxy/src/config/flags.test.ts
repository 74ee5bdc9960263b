import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlagError, parseProxyArgs, PROXY_USAGE } from './flags.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-flags-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const USERS = path.join(tmp, 'users.txt');
writeFileSync(USERS, '"app" "pw"\n');

const parse = (...argv: string[]) => parseProxyArgs(argv, {});
function errorOf(...argv: string[]): string {
  try {
    parse(...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(FlagError);
    return (err as Error).message;
  }
  throw new Error('expected a FlagError');
}

describe('quick mode', () => {
  it('builds the full config from the contract flags', () => {
    const cert = path.join(tmp, 'c.pem');
    const { config, configFile } = parse(
      '--listen',
      '127.0.0.1:6432',
      '--target',
      '10.0.0.1:5432,[::1]:5433',
      '--pool-size',
      '7',
      '--admin-listen=127.0.0.1:9000',
      '--reader-listen',
      '127.0.0.1:6433',
      '--auth',
      'md5',
      '--users',
      USERS,
      '--pinning-filters',
      'EXCLUDE_VARIABLE_SETS',
      '--tls-cert',
      cert,
      '--tls-key',
      cert,
      '--require-tls',
      '--borrow-timeout',
      '5s',
      '--idle-client-timeout',
      '10m',
      '--log-level',
      'debug',
    );
    expect(configFile).toBeUndefined();
    expect(config).toMatchObject({
      listen: '127.0.0.1:6432',
      admin: { listen: '127.0.0.1:9000' },
      reader: { listen: '127.0.0.1:6433', whenNoReader: 'wait' },
      targets: [
        { host: '10.0.0.1', port: 5432 },
        { host: '::1', port: 5433 },
      ],
      auth: { method: 'md5', usersFile: USERS, users: [{ username: 'app', password: 'pw' }] },
      tls: { certFile: cert, keyFile: cert, require: true },
      pool: { maxConnections: 7, maxIdleConnections: 5, borrowTimeout: 5_000, sessionPinningFilters: ['EXCLUDE_VARIABLE_SETS'] },
      idleClientTimeout: 600_000,
      logLevel: 'debug',
    });
  });

  it('takes the defaults for everything but --target (with trust given explicitly)', () => {
    const { config } = parse('--target', 'db:5432', '--auth', 'trust');
    expect(config).toMatchObject({
      listen: '0.0.0.0:5432',
      admin: { listen: '127.0.0.1:9187' },
      auth: { method: 'trust', users: [] },
      pool: { maxConnections: 20 },
    });
    expect(parse('--target', 'db:5432', '--auth', 'trust', '--pool-size', '2').config!.pool.maxIdleConnections).toBe(2);
    expect(parse('--target', 'db:5432', '--users', USERS).config!.auth.method).toBe('scram');
    expect(parse('--target', 'db:5432', '--auth=trust', '--pinning-filters', 'none').config!.pool.sessionPinningFilters).toEqual([]);
  });

  it('--config alone names the file', () => {
    expect(parse('--config', 'proxy.yaml')).toEqual({ configFile: 'proxy.yaml' });
    expect(parse('--config=/etc/dbproxy/proxy.yaml')).toEqual({ configFile: '/etc/dbproxy/proxy.yaml' });
  });
});

describe('flag errors', () => {
  it.each<[string[], string]>([
    [['--bogus'], 'unknown flag "--bogus"'],
    [['stray'], 'unexpected argument "stray" (flags start with --)'],
    [['--target'], '--target needs a value'],
    [['--target', '--pool-size', '3'], '--target needs a value'],
    [['--require-tls=yes', '--target', 'db:1'], '--require-tls takes no value'],
    [['--target', 'a:1', '--target', 'b:1'], '--target is given twice'],
    [['--pool-size', '3'], '--target HOST:PORT (or --config FILE) is required'],
    [['--config', 'x.yaml', '--pool-size', '3'], '--config cannot be combined with quick-mode flags (--pool-size): put them in the file'],
    [['--target', 'db:5432'], '--auth scram (the default) needs --users FILE; without a users file pass --auth trust explicitly'],
    [['--target', 'db:5432', '--auth', 'md5'], '--auth md5 needs --users FILE'],
    [['--target', 'db:5432', '--auth', 'trust', '--pool-size', 'x'], '--pool-size: expected a whole number, got "x"'],
    [['--target', 'db:5432', '--auth', 'trust', '--pool-size', '0'], '--pool-size: must be >= 1'],
    [['--target', 'db', '--auth', 'trust'], '--target: invalid address "db": expected HOST:PORT, e.g. 127.0.0.1:6432 or [::1]:6432'],
    [['--target', 'db:5432,db:0', '--auth', 'trust'], '--target: must be >= 1'],
    [['--target', 'db:1', '--auth', 'trust', '--listen', 'nope'], '--listen: invalid address "nope": expected HOST:PORT'],
    [['--target', 'db:1', '--auth', 'trust', '--admin-listen', 'nope'], '--admin-listen: invalid address "nope"'],
    [['--target', 'db:1', '--auth', 'ldap'], '--auth: must be one of scram, md5, trust, got "ldap"'],
    [['--target', 'db:1', '--auth', 'trust', '--borrow-timeout', 'soon'], '--borrow-timeout: invalid duration "soon"'],
    [['--target', 'db:1', '--auth', 'trust', '--idle-client-timeout', '-5s'], '--idle-client-timeout: invalid duration "-5s"'],
    [['--target', 'db:1', '--auth', 'trust', '--log-level', 'loud'], '--log-level: must be one of'],
    [['--target', 'db:1', '--auth', 'trust', '--pinning-filters', 'NOPE'], '--pinning-filters: must be "EXCLUDE_VARIABLE_SETS", got "NOPE"'],
    [['--target', 'db:1', '--auth', 'trust', '--require-tls'], '--require-tls: needs a certificate and key'],
    [['--target', 'db:1', '--auth', 'trust', '--tls-cert', 'c.pem'], '--tls-key: tls.certFile and tls.keyFile go together'],
    [['--target', 'db:1', '--users', '/nonexistent/users.txt'], '--users: ENOENT'],
  ])('%j', (argv, message) => {
    const text = errorOf(...argv);
    expect(text).toContain(message);
    expect(text).toContain(PROXY_USAGE);
  });

  it('lists every bad flag at once', () => {
    const text = errorOf('--target', 'db', '--pool-size', 'x', '--borrow-timeout', 'soon');
    const lines = text.split('\n\n')[0]!.split('\n');
    expect(lines).toEqual([
      'invalid flags:',
      '  - --auth scram (the default) needs --users FILE; without a users file pass --auth trust explicitly (clients are then not checked, and the proxy logs in to the database with PGPASSWORD)',
      '  - --target: invalid address "db": expected HOST:PORT, e.g. 127.0.0.1:6432 or [::1]:6432',
      '  - --pool-size: expected a whole number, got "x"',
      '  - --borrow-timeout: invalid duration "soon": use a number with a unit, like 500ms, 30s, 5m or 1h',
    ]);
  });
});
