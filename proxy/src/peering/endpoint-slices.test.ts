import { describe, expect, it } from 'vitest';
import { peersFromSlices, type EndpointSlice } from './endpoint-slices.js';
import { peerIdOf } from './peer-id.js';

const slice = (addresses: string[][], ports: EndpointSlice['ports']): EndpointSlice => ({ endpoints: addresses.map((a) => ({ addresses: a })), ports });

describe('peersFromSlices', () => {
  it.each<[string, EndpointSlice[], { host: string; port: number }[]]>([
    ['no slices', [], []],
    [
      'the postgresql port of each slice',
      [slice([['10.0.0.2'], ['10.0.0.1']], [{ name: 'postgresql', port: 5432 }])],
      [
        { host: '10.0.0.1', port: 5432 },
        { host: '10.0.0.2', port: 5432 },
      ],
    ],
    ['a slice with one unnamed port', [slice([['10.0.0.1']], [{ port: 6543 }])], [{ host: '10.0.0.1', port: 6543 }]],
    ['no port: the fallback', [slice([['10.0.0.1']], [])], [{ host: '10.0.0.1', port: 7000 }]],
    [
      'two slices naming one pod: listed once',
      [slice([['10.0.0.1']], [{ name: 'postgresql', port: 5432 }]), slice([['10.0.0.1']], [{ name: 'postgresql', port: 5432 }])],
      [{ host: '10.0.0.1', port: 5432 }],
    ],
    ['endpoints without addresses are skipped', [{ endpoints: [{}, { addresses: [] }], ports: null }], []],
  ])('%s', (_name, slices, want) => {
    expect(peersFromSlices(slices, 7000)).toEqual(want.map((p) => ({ ...p, id: peerIdOf(p.host) })));
  });
});
