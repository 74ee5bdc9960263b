import { describe, expect, it } from 'vitest';
import { SecretRefs } from './secret-refs.js';

describe('SecretRefs', () => {
  type Step = [op: 'set', proxy: string, ns: string, names: string[]] | [op: 'remove', proxy: string];
  const table: { name: string; steps: Step[]; start: string[]; stop: string[]; secrets: string[] }[] = [
    { name: 'a first reference starts a watch', steps: [['set', 'a/x', 'a', ['db']]], start: ['a/db'], stop: [], secrets: ['a/db'] },
    {
      name: 'a second referrer starts nothing',
      steps: [
        ['set', 'a/x', 'a', ['db']],
        ['set', 'a/y', 'a', ['db', 'cert']],
      ],
      start: ['a/cert'],
      stop: [],
      secrets: ['a/cert', 'a/db'],
    },
    {
      name: 'the same name in another namespace is another Secret',
      steps: [
        ['set', 'a/x', 'a', ['db']],
        ['set', 'b/x', 'b', ['db']],
      ],
      start: ['b/db'],
      stop: [],
      secrets: ['a/db', 'b/db'],
    },
    {
      name: 'a reference dropped by its only referrer stops the watch',
      steps: [
        ['set', 'a/x', 'a', ['db', 'cert']],
        ['set', 'a/x', 'a', ['db']],
      ],
      start: [],
      stop: ['a/cert'],
      secrets: ['a/db'],
    },
    {
      name: 'a reference still held by another DBProxy keeps the watch',
      steps: [
        ['set', 'a/x', 'a', ['db']],
        ['set', 'a/y', 'a', ['db']],
        ['remove', 'a/x'],
      ],
      start: [],
      stop: [],
      secrets: ['a/db'],
    },
    {
      name: 'removing the last referrer stops every watch it held',
      steps: [
        ['set', 'a/x', 'a', ['db', 'cert']],
        ['remove', 'a/x'],
      ],
      start: [],
      stop: ['a/cert', 'a/db'],
      secrets: [],
    },
    { name: 'removing an unknown DBProxy changes nothing', steps: [['remove', 'a/nope']], start: [], stop: [], secrets: [] },
    {
      name: 'setting the same references again changes nothing',
      steps: [
        ['set', 'a/x', 'a', ['db']],
        ['set', 'a/x', 'a', ['db']],
      ],
      start: [],
      stop: [],
      secrets: ['a/db'],
    },
  ];
  it.each(table)('$name', ({ steps, start, stop, secrets }) => {
    const refs = new SecretRefs();
    let last = { start: [] as string[], stop: [] as string[] };
    for (const s of steps) last = s[0] === 'set' ? refs.set(s[1], s[2], s[3]) : refs.remove(s[1]);
    expect({ start: [...last.start].sort(), stop: [...last.stop].sort() }).toEqual({ start, stop });
    expect(refs.secrets()).toEqual(secrets);
  });

  it('knows who holds a Secret', () => {
    const refs = new SecretRefs();
    refs.set('a/y', 'a', ['db']);
    refs.set('a/x', 'a', ['db', 'cert']);
    expect(refs.holders('a/db')).toEqual(['a/x', 'a/y']);
    expect(refs.holders('a/cert')).toEqual(['a/x']);
    expect(refs.holders('b/db')).toEqual([]);
    refs.remove('a/x');
    expect(refs.holders('a/db')).toEqual(['a/y']);
  });
});
