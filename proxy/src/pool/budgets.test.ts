import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/load.js';
import { budgetLimits, EndpointBudgets, poolLimits } from './budgets.js';

const config = (extra: Record<string, unknown>) => parseConfig({ targets: ['127.0.0.1:5432'], auth: { method: 'trust' }, ...extra }, 'test');

describe('the limits a config gives budgets and pools', () => {
  it.each([
    [
      'defaults: one pool may use the whole budget, as the old per-pool size',
      {},
      'writer',
      { maxConnections: 20, maxDbConnections: 0, maxUserConnections: 0 },
      { maxConnections: 20, maxIdleConnections: 5 },
    ],
    [
      'a per-database limit bounds each pool',
      { pool: { maxConnections: 12, maxDbConnections: 3 } },
      'writer',
      { maxConnections: 12, maxDbConnections: 3, maxUserConnections: 0 },
      { maxConnections: 3, maxIdleConnections: 3 },
    ],
    [
      'the smallest of the three',
      { pool: { maxConnections: 12, maxDbConnections: 5, maxUserConnections: 4 } },
      'writer',
      { maxConnections: 12, maxDbConnections: 5, maxUserConnections: 4 },
      { maxConnections: 4, maxIdleConnections: 4 },
    ],
    [
      'the reader endpoint has its own budget, with the same per-database and per-user limits',
      { pool: { maxConnections: 30, maxUserConnections: 10 }, reader: { listen: '127.0.0.1:0', pool: { maxConnections: 6, maxIdleConnections: 2 } } },
      'reader',
      { maxConnections: 6, maxDbConnections: 0, maxUserConnections: 10 },
      { maxConnections: 6, maxIdleConnections: 2 },
    ],
    [
      'without reader sizes, the reader budget is the writer one',
      { pool: { maxConnections: 8 }, reader: { listen: '127.0.0.1:0' } },
      'reader',
      { maxConnections: 8, maxDbConnections: 0, maxUserConnections: 0 },
      { maxConnections: 8, maxIdleConnections: 5 },
    ],
  ] as const)('%s', (_name, raw, endpoint, budget, pool) => {
    const c = config(raw);
    expect(budgetLimits(c, endpoint)).toEqual(budget);
    expect(poolLimits(c, endpoint)).toMatchObject(pool);
  });

  it('a reload sets both budgets; /status adds the borrowers waiting in each endpoint', () => {
    const b = new EndpointBudgets(config({ pool: { maxConnections: 4 } }));
    b.apply(config({ pool: { maxConnections: 9, maxDbConnections: 2 }, reader: { listen: '127.0.0.1:0', pool: { maxConnections: 3 } } }));
    const status = b.status(
      [
        { endpoint: 'writer', pool: { waiting: 2 } },
        { endpoint: 'writer', pool: { waiting: 1 } },
        { endpoint: 'reader', pool: { waiting: 5 } },
      ],
      true,
    );
    expect(status.writer).toMatchObject({ maxConnections: 9, maxDbConnections: 2, inUse: 0, waiting: 3 });
    expect(status.reader).toMatchObject({ maxConnections: 3, maxDbConnections: 2, waiting: 5 });
    expect(b.status([], false).reader).toBeUndefined();
  });
});
