import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { md5PasswordHash } from '../auth/md5.js';
import { formatScramVerifier, scramSecretFromPassword } from '../auth/scram.js';
import { ConfigError, loadConfigFile, parseConfig, parseConfigText } from '../../../contract/config/load.js';
import { parseHostPort } from '../../../contract/config/schema.js';

const T = { targets: [{ host: 'db', port: 5432 }], auth: { method: 'trust' } };
const VERIFIER = formatScramVerifier(scramSecretFromPassword('pw', { iterations: 16 }));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function problems(obj: unknown, baseDir?: string): string[] {
  try {
    parseConfig(obj, 'test', baseDir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message.split('\n').slice(1)).toEqual((err as ConfigError).problems.map((p) => `  - ${p}`));
    return (err as ConfigError).problems;
  }
  return [];
}

describe('defaults', () => {
  it('fills in every default; durations come out in milliseconds', () => {
    expect(parseConfig({ targets: ['db:5433'], auth: { method: 'trust' } }, 'test')).toEqual({
      listen: '0.0.0.0:5432',
      admin: { listen: '127.0.0.1:9187', users: [], trustLoopback: true },
      targets: [{ host: 'db', port: 5433 }],
      targetGeneration: 0,
      auth: { method: 'trust', users: [] },
      backendTls: { sslmode: 'prefer' },
      pool: {
        maxConnections: 20,
        maxDbConnections: 0,
        maxUserConnections: 0,
        maxIdleConnections: 5,
        borrowTimeout: 120_000,
        initQuery: '',
        sessionPinningFilters: ['EXCLUDE_VARIABLE_SETS'],
      },
      idleClientTimeout: 1_800_000,
      limits: { maxClientConnections: 20_000, maxClientConnectionsPerUser: 0, startupTimeout: 10_000, authenticationTimeout: 60_000 },
      shutdown: { delay: 0, drainTimeout: 20_000 },
      healthCheck: { interval: 1_000, failureThreshold: 2, timeout: 2_000 },
      maxMessageLength: 16 * 1024 * 1024,
      io: 'auto',
      logLevel: 'info',
    });
  });

  it('client auth defaults to scram, so a config without users (and without trust) is refused', () => {
    expect(problems({ targets: ['db:5432'] })).toEqual([
      'auth: method scram needs at least one user (auth.users or auth.usersFile); to let every client in unchecked, set method: trust explicitly',
    ]);
    expect(parseConfig({ targets: ['db:5432'], auth: { users: [{ username: 'a', password: 'b' }] } }, 't').auth.method).toBe('scram');
  });

  it('maxIdleConnections defaults to 5, or to maxConnections when that is smaller', () => {
    expect(parseConfig({ ...T, pool: { maxConnections: 2 } }, 't').pool.maxIdleConnections).toBe(2);
    expect(parseConfig({ ...T, pool: { maxConnections: 50 } }, 't').pool.maxIdleConnections).toBe(5);
    expect(parseConfig({ ...T, pool: { maxConnections: 50, maxIdleConnections: 0 } }, 't').pool.maxIdleConnections).toBe(0);
  });

  it('takes durations as strings or seconds, and target ports default to 5432', () => {
    const c = parseConfig(
      { ...T, targets: [{ host: 'a' }, '[::1]:6000'], pool: { borrowTimeout: 5 }, idleClientTimeout: '0', healthCheck: { interval: '250ms' } },
      't',
    );
    expect(c.targets).toEqual([
      { host: 'a', port: 5432 },
      { host: '::1', port: 6000 },
    ]);
    expect([c.pool.borrowTimeout, c.idleClientTimeout, c.healthCheck.interval]).toEqual([5_000, 0, 250]);
  });
});

describe('every problem, one per line, path first', () => {
  it.each<[string, unknown, string[]]>([
    ['missing targets', { auth: { method: 'trust' } }, ['targets: required']],
    ['empty targets', { ...T, targets: [] }, ['targets: at least one target (HOST:PORT of PostgreSQL) is needed']],
    ['not a mapping', 'listen: x', ['(top level): expected an object (mapping), got "listen: x"']],
    [
      'many at once',
      {
        targets: ['db:5432', 'nocolon', { host: 'h', port: 'x' }],
        listen: '1.2.3.4',
        bogus: 1,
        pool: { maxConnections: 0, borrowTimeout: 'soon', extra: true },
        logLevel: 'loud',
        auth: { method: 'trust' },
      },
      [
        'listen: invalid address "1.2.3.4": expected HOST:PORT, e.g. 127.0.0.1:6432 or [::1]:6432',
        'targets.1: invalid address "nocolon": expected HOST:PORT, e.g. 127.0.0.1:6432 or [::1]:6432 (or {host, port})',
        'targets.2.port: expected a whole number, got "x"',
        'pool.maxConnections: must be >= 1',
        'pool.borrowTimeout: invalid duration "soon": use a number with a unit, like 500ms, 30s, 5m or 1h',
        'pool.extra: unknown field',
        'logLevel: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        'bogus: unknown field',
      ],
    ],
    ['maxIdle above max', { ...T, pool: { maxConnections: 3, maxIdleConnections: 4 } }, ['pool.maxIdleConnections: must be at most pool.maxConnections (3)']],
    ['fractional count', { ...T, pool: { maxConnections: 2.5 } }, ['pool.maxConnections: must be a whole number']],
    [
      'negative per-database and per-user limits',
      { ...T, pool: { maxDbConnections: -1, maxUserConnections: 1.5 } },
      ['pool.maxDbConnections: must be >= 0', 'pool.maxUserConnections: must be a whole number'],
    ],
    ['port out of range', { ...T, targets: [{ host: 'h', port: 70000 }] }, ['targets.0.port: must be <= 65535']],
    ['empty host', { ...T, targets: [{ host: '' }] }, ['targets.0.host: must not be empty']],
    ['unknown method', { ...T, auth: { method: 'password' } }, ['auth.method: must be one of scram, md5, trust, got "password"']],
    [
      'unknown filter',
      { ...T, pool: { sessionPinningFilters: ['EXCLUDE_ALL'] } },
      ['pool.sessionPinningFilters.0: must be "EXCLUDE_VARIABLE_SETS", got "EXCLUDE_ALL"'],
    ],
    ['require without cert', { ...T, tls: { require: true } }, ['tls.require: needs a certificate and key (tls.certFile and tls.keyFile)']],
    ['cert without key', { ...T, tls: { certFile: 'c.pem' } }, ['tls.keyFile: tls.certFile and tls.keyFile go together']],
    [
      'zero interval',
      { ...T, healthCheck: { interval: 0, failureThreshold: 0 } },
      ['healthCheck.interval: must be more than 0', 'healthCheck.failureThreshold: must be >= 1'],
    ],
    ['huge timer', { ...T, idleClientTimeout: '1000h' }, ['idleClientTimeout: invalid duration "1000h": must be at most 24 days']],
    ['tiny message cap', { ...T, maxMessageLength: 10 }, ['maxMessageLength: must be >= 1024']],
    ['unknown mover', { ...T, io: 'uring' }, ['io: must be one of auto, native, node, got "uring"']],
    [
      'wrong types',
      { ...T, admin: 'x', tls: { require: 'yes' } },
      ['admin: expected an object (mapping), got "x"', 'tls.require: expected true or false, got "yes"'],
    ],
    [
      'user fields',
      { ...T, auth: { method: 'trust', users: [{ username: '', password: 1 }] } },
      ['auth.users.0.username: must not be empty', 'auth.users.0.password: expected a string, got a number'],
    ],
    [
      'user problems are listed with schema problems',
      {
        targets: [],
        auth: {
          method: 'scram',
          users: [
            { username: 'a', password: md5PasswordHash('a', 'x') },
            { username: 'a', password: 'y' },
          ],
        },
      },
      [
        'targets: at least one target (HOST:PORT of PostgreSQL) is needed',
        'auth.users.0: user "a" has an MD5 hash, which cannot check SCRAM-SHA-256 logins: give the plaintext password or a SCRAM verifier, or use auth method md5',
        'auth.users.1: user "a" is listed twice',
      ],
    ],
    [
      'verifier with md5',
      { ...T, auth: { method: 'md5', users: [{ username: 'v', password: VERIFIER }] } },
      [expect.stringMatching(/^auth\.users\.0: user "v" has a SCRAM verifier, which cannot check MD5 logins/) as unknown as string],
    ],
    [
      'verifier with trust',
      { ...T, auth: { method: 'trust', users: [{ username: 'v', password: VERIFIER }] } },
      [expect.stringMatching(/^auth\.users\.0: user "v" has only a SCRAM verifier/) as unknown as string],
    ],
    [
      'missing users file',
      { ...T, auth: { method: 'trust', usersFile: 'nope.txt' } },
      [expect.stringMatching(/^auth\.usersFile: ENOENT: .*nope\.txt/) as unknown as string],
    ],
    [
      'admin user who cannot log in',
      { ...T, admin: { users: ['app', 'ops'] }, auth: { method: 'scram', users: [{ username: 'app', password: 'x' }] } },
      ['admin.users.1: user "ops" is not among the users (auth.users or auth.usersFile), so it cannot log in to the admin console'],
    ],
    ['empty admin user name', { ...T, admin: { users: [''] } }, ['admin.users.0: must not be empty']],
  ])('%s', (_, obj, expected) => {
    expect(problems(obj, tmp)).toEqual(expected);
  });

  it('accepts the kinds of password each method can use', () => {
    const md5 = md5PasswordHash('m', 'x');
    expect(
      problems({
        ...T,
        auth: {
          method: 'scram',
          users: [
            { username: 'v', password: VERIFIER },
            { username: 'p', password: 'x' },
          ],
        },
      }),
    ).toEqual([]);
    expect(
      problems({
        ...T,
        auth: {
          method: 'md5',
          users: [
            { username: 'm', password: md5 },
            { username: 'p', password: 'x' },
          ],
        },
      }),
    ).toEqual([]);
    expect(problems({ ...T, auth: { method: 'trust', users: [{ username: 'm', password: md5 }] } })).toEqual([]);
    // With trust anyone named may open the admin console; otherwise they log in as a listed user.
    expect(problems({ ...T, admin: { users: ['anyone'] } })).toEqual([]);
    expect(problems({ ...T, admin: { users: ['p'] }, auth: { method: 'md5', users: [{ username: 'p', password: 'x' }] } })).toEqual([]);
  });
});

describe('files', () => {
  it('reads YAML and JSON by content, resolving the users file and TLS files against the config directory', async () => {
    const dir = path.join(tmp, 'conf');
    mkdirSync(path.join(dir, 'secrets'), { recursive: true });
    writeFileSync(path.join(dir, 'secrets', 'users.txt'), '"file_user" "pw"\n');
    const yaml =
      'targets: [db:5432]\nauth:\n  usersFile: secrets/users.txt\n  users: [{ username: inline, password: x }]\ntls: { certFile: c.pem, keyFile: /abs/k.pem }\n';
    writeFileSync(path.join(dir, 'proxy.yaml'), yaml);
    writeFileSync(path.join(dir, 'proxy.json'), JSON.stringify({ targets: ['db:5432'], auth: { usersFile: 'secrets/users.txt' } }));
    const fromYaml = await loadConfigFile(path.join(dir, 'proxy.yaml'));
    expect(fromYaml.auth.usersFile).toBe(path.join(dir, 'secrets', 'users.txt'));
    expect(fromYaml.auth.users.map((u) => u.username)).toEqual(['inline', 'file_user']);
    expect(fromYaml.tls).toEqual({
      certFile: path.join(dir, 'c.pem'),
      keyFile: '/abs/k.pem',
      require: false,
      minVersion: 'TLSv1.2',
      clientCertificates: 'none',
    });
    const fromJson = await loadConfigFile(path.join(dir, 'proxy.json'));
    expect(fromJson.auth.users.map((u) => u.username)).toEqual(['file_user']);
  });

  it('names the file and the line of a bad user, and a user listed in both places', () => {
    writeFileSync(path.join(tmp, 'u2.txt'), '"ok" "pw"\n"dup" "pw"\n');
    const file = path.join(tmp, 'u2.txt');
    expect(problems({ ...T, auth: { method: 'scram', usersFile: 'u2.txt', users: [{ username: 'dup', password: 'x' }] } }, tmp)).toEqual([
      `auth.usersFile (${file}:2): user "dup" is listed twice`,
    ]);
    writeFileSync(file, '"ok" "pw"\n"bad\n');
    expect(problems({ ...T, auth: { method: 'scram', usersFile: 'u2.txt' } }, tmp)).toEqual([
      `auth.usersFile: ${file}:2: expected "username" "password" (a quote inside a field is written "")`,
    ]);
  });

  it('reports unreadable files and broken YAML as ConfigError', async () => {
    await expect(loadConfigFile(path.join(tmp, 'absent.yaml'))).rejects.toThrow(/cannot read the file/);
    expect(() => parseConfigText('targets: [\n', 'x.yaml')).toThrow(ConfigError);
    expect(() => parseConfigText('targets: [\n', 'x.yaml')).toThrow(/not valid YAML or JSON/);
    expect(() => parseConfigText('', 'empty.yaml')).toThrow(/targets: required/);
  });
});

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:5432', { host: '127.0.0.1', port: 5432 }],
    ['db.example.svc:6432', { host: 'db.example.svc', port: 6432 }],
    ['[::1]:5432', { host: '::1', port: 5432 }],
    ['[fe80::1%eth0]:5432', { host: 'fe80::1%eth0', port: 5432 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
  ])('%s', (s, hp) => expect(parseHostPort(s)).toEqual(hp));

  it.each(['::1:5432', 'host', 'host:', ':5432', 'host:99999', 'host:12a', '[::1]', 'a b:1', '[db]:5432'])('refuses %j', (s) => {
    expect(() => parseHostPort(s)).toThrow(/expected HOST:PORT/);
  });
});

describe('parseConfig never fails with anything but ConfigError (property)', () => {
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('db:5432', '30s', 'trust', 'scram'));
  const section = fc.dictionary(
    fc.constantFrom('maxConnections', 'maxIdleConnections', 'borrowTimeout', 'method', 'users', 'usersFile', 'listen', 'require', 'certFile', 'interval', 'x'),
    fc.oneof(leaf, fc.array(leaf)),
  );
  const config = fc.dictionary(
    fc.constantFrom(
      'listen',
      'admin',
      'targets',
      'auth',
      'tls',
      'pool',
      'healthCheck',
      'idleClientTimeout',
      'maxMessageLength',
      'logLevel',
      'targetGeneration',
      'bogus',
    ),
    fc.oneof(leaf, section, fc.array(fc.oneof(leaf, section), { maxLength: 3 })),
  );
  it('holds for arbitrary near-config objects and any JSON value', () => {
    fc.assert(
      fc.property(fc.oneof(config, fc.jsonValue()), (obj) => {
        try {
          parseConfig(obj, 'prop', tmp);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).problems.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });
});
