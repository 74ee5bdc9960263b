import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ProxyConfigSchema } from '../../../contract/config/schema.js';
import { peerIdOf } from './peer-id.js';
import { Peering, selfPeerId } from './peering.js';

const base = { targets: ['db:5432'] };
const log = pino({ level: 'silent' });

describe('the peering config', () => {
  it.each<[string, unknown, string | undefined]>([
    ['none', undefined, undefined],
    ['static peers with an id', { id: 1, peers: [{ id: 2, host: 'b', port: 5432 }] }, undefined],
    [
      'the same list on every proxy (this one in it too)',
      {
        id: 1,
        peers: [
          { id: 1, host: 'a' },
          { id: 2, host: 'b' },
        ],
      },
      undefined,
    ],
    ['a Service to watch', { kubernetes: { service: 'orders' } }, undefined],
    ['static peers without an own id', { peers: [{ id: 2, host: 'b' }] }, "needs this proxy's own peering.id"],
    [
      'two peers on one id',
      {
        id: 1,
        peers: [
          { id: 2, host: 'b' },
          { id: 2, host: 'c' },
        ],
      },
      'peer id 2 is also b:5432',
    ],
    ['an id past 12 bits', { id: 4096 }, '4095'],
    ['a negative id', { id: -1 }, '0'],
    ['an unknown key', { service: 'orders' }, 'service'],
  ])('%s', (_name, peering, problem) => {
    const r = ProxyConfigSchema.safeParse({ ...base, ...(peering !== undefined && { peering }) });
    if (problem === undefined) expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    else expect(JSON.stringify(r.error?.issues ?? [])).toContain(problem);
  });
});

describe('Peering', () => {
  it.each<[string, { id?: number } | undefined, string | undefined, number]>([
    ["the config's id wins", { id: 9 }, '10.0.0.1', 9],
    ['else derived from the bind address, as the peers derive it from the EndpointSlices', {}, '10.0.0.1', peerIdOf('10.0.0.1')],
    ['else 0', undefined, undefined, 0],
  ])('%s', (_name, config, address, want) => {
    expect(selfPeerId(config === undefined ? undefined : { peers: [], ...config }, address)).toBe(want);
  });

  it('lists the static peers but not itself, follows a reload, and keeps its id', () => {
    const config = (id: number, hosts: string[]) => ({ id, peers: hosts.map((h, i) => ({ id: i + 1, host: h, port: 5432 })) });
    const p = new Peering(config(1, ['a', 'b', 'c']), { log, selfAddress: undefined, listenPort: 5432 });
    expect(p.id).toBe(1);
    expect(p.peers().map((x) => x.host)).toEqual(['b', 'c']);
    p.apply(config(2, ['a', 'b']));
    expect(p.id).toBe(1);
    expect(p.peers().map((x) => x.host)).toEqual(['b']);
    p.apply(undefined);
    expect(p.peers()).toEqual([]);
    p.stop();
  });
});
