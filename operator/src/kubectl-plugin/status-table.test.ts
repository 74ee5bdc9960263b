import { describe, expect, it } from 'vitest';
import { formatTable, parseArgs, podRow, UsageError } from './status-table.js';

describe('kubectl dbproxy arguments', () => {
  it.each([
    [['status', 'orders'], { name: 'orders', namespace: undefined }],
    [['status', 'orders', '-n', 'shop'], { name: 'orders', namespace: 'shop' }],
    [['status', '-n', 'shop', 'orders'], { name: 'orders', namespace: 'shop' }],
    [['status', 'orders', '--namespace', 'shop'], { name: 'orders', namespace: 'shop' }],
    [['status', 'orders', '--namespace=shop'], { name: 'orders', namespace: 'shop' }],
    [['status', 'orders', '-n=shop'], { name: 'orders', namespace: 'shop' }],
    [[], 'help'],
    [['--help'], 'help'],
    [['status', '-h'], 'help'],
    [['help'], 'help'],
  ] as const)('%j', (argv, want) => expect(parseArgs(argv)).toEqual(want));

  it.each([
    [['get', 'orders'], 'unknown command "get" (the one command is status)'],
    [['status'], 'status needs the DBProxy name'],
    [['status', 'a', 'b'], 'status takes one DBProxy name, got a b'],
    [['status', 'a', '-n'], '-n needs a namespace'],
    [['status', 'a', '--output=json'], 'unknown flag --output=json'],
    [['status', 'a', '-n='], 'the namespace must not be empty'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new UsageError(message));
  });
});

// The shape of a proxy pod's /status (proxy/src/server.ts status()), trimmed to what the table reads.
const status = (over: Record<string, unknown> = {}) => ({
  target: '10.0.0.5:5432',
  targetGeneration: 3,
  clients: { total: 12, byState: { idle: 10, linked: 2 } },
  databaseConnections: { idle: 4, active: 2, opening: 0 },
  pools: [{ waiting: 1 }, { waiting: 2 }],
  ...over,
});

describe('pod rows', () => {
  it('reads clients, borrowed and idle connections, and the waiters over every pool', () => {
    expect(podRow({ name: 'p-1', ready: true }, status())).toEqual({
      pod: 'p-1',
      ready: true,
      config: '',
      target: '10.0.0.5:5432',
      generation: '3',
      clients: 12,
      borrowed: 2,
      idle: 4,
      waiting: 3,
    });
  });

  it('shows the config version a pod runs (its /config), and a config it refused', () => {
    const config = { source: 'Secret shop/orders-proxy-config', version: '4711', appliedAt: '2024-01-01T00:00:00.000Z' };
    expect(podRow({ name: 'p', ready: true }, status(), config)).toMatchObject({ config: '4711' });
    expect(
      podRow({ name: 'p', ready: true }, status(), {
        ...config,
        refused: { version: '4712', problems: ['pool.maxConnections: must be >= 1', 'bogus: unknown field'], at: 'x' },
      }),
    ).toMatchObject({
      config: '4711',
      error: 'refused config 4712: pool.maxConnections: must be >= 1; bogus: unknown field',
      clients: 12,
    });
    // Older pods have no /config: the column stays empty, the figures are there.
    expect(podRow({ name: 'p', ready: true }, status(), new Error('/config: HTTP 404'))).toMatchObject({ config: '', clients: 12 });
    expect(podRow({ name: 'p', ready: true }, status(), new Error('/config: HTTP 404')).error).toBeUndefined();
  });

  it('says when there is no writer, and 0 waiting with no pools yet', () => {
    expect(podRow({ name: 'p', ready: false }, status({ target: null, pools: [] }))).toMatchObject({ target: '(none)', waiting: 0 });
  });

  it('leaves figures out of a status it cannot read, and says why', () => {
    expect(podRow({ name: 'p', ready: true }, new Error('/status: HTTP 503'))).toMatchObject({ error: '/status: HTTP 503', clients: undefined, target: '' });
    expect(podRow({ name: 'p', ready: false, unreachable: 'not running (Pending)' }, undefined)).toMatchObject({ error: 'not running (Pending)' });
    expect(podRow({ name: 'p', ready: true }, 'not json')).toMatchObject({ clients: undefined, borrowed: undefined, waiting: undefined, target: '' });
  });
});

describe('formatTable', () => {
  it('lays one pod out as kubectl does', () => {
    expect(formatTable([podRow({ name: 'orders-proxy-abc', ready: true }, status())])).toBe(
      [
        'POD                READY   CONFIG   TARGET          GENERATION   CLIENTS   BORROWED   IDLE   WAITING',
        'orders-proxy-abc   true             10.0.0.5:5432   3            12        2          4      3',
        '',
      ].join('\n'),
    );
  });

  it('adds a TOTAL row over several pods, and an ERROR column when a pod failed', () => {
    const out = formatTable([
      podRow({ name: 'a', ready: true }, status()),
      podRow({ name: 'b', ready: false }, new Error('/status: connect ECONNREFUSED')),
    ]).split('\n');
    expect(out[0]!.split(/\s{2,}/)).toEqual(['POD', 'READY', 'CONFIG', 'TARGET', 'GENERATION', 'CLIENTS', 'BORROWED', 'IDLE', 'WAITING', 'ERROR']);
    expect(out[2]!.split(/\s{2,}/)).toEqual(['b', 'false', '/status: connect ECONNREFUSED']);
    expect(out[3]!.split(/\s{2,}/)).toEqual(['TOTAL', '1/2', '12', '2', '4', '3']);
  });
});
