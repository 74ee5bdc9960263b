import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildUrl } from './request.js';
import { cacheKey, diffList, objectKey, watchAction, withTypeMeta } from './store.js';

const cm = (ns: string | undefined, name: string, rv: string, uid = `uid-${name}`): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, resourceVersion: rv, uid, ...(ns !== undefined && { namespace: ns }) },
});

describe('keys', () => {
  it('are namespace/name, or name for cluster-scoped objects', () => {
    expect(objectKey(cm('ns', 'a', '1'))).toBe('ns/a');
    expect(objectKey(cm(undefined, 'node-1', '1'))).toBe('node-1');
    expect(cacheKey('ns', 'a')).toBe('ns/a');
    expect(cacheKey(undefined, 'a')).toBe('a');
  });
});

describe('diffList', () => {
  it('reports adds, real updates and deletes, and skips unchanged objects', () => {
    const cache = new Map([
      ['ns/same', cm('ns', 'same', '5')],
      ['ns/changed', cm('ns', 'changed', '5')],
      ['ns/gone', cm('ns', 'gone', '5')],
      ['ns/recreated', cm('ns', 'recreated', '5', 'old-uid')],
    ]);
    const fresh = [cm('ns', 'same', '5'), cm('ns', 'changed', '9'), cm('ns', 'new', '7'), cm('ns', 'recreated', '5', 'new-uid')];
    const d = diffList(cache, fresh);
    expect(d.added.map(objectKey)).toEqual(['ns/new']);
    expect(d.updated.map(([n, o]) => [objectKey(n), o.metadata?.resourceVersion, n.metadata?.resourceVersion])).toEqual([
      ['ns/changed', '5', '9'],
      ['ns/recreated', '5', '5'],
    ]);
    expect(d.deleted.map(objectKey)).toEqual(['ns/gone']);
    expect([...d.next.keys()].sort()).toEqual(['ns/changed', 'ns/new', 'ns/recreated', 'ns/same']);
  });

  it('an empty list deletes everything', () => {
    const d = diffList(new Map([['a', cm(undefined, 'a', '1')]]), []);
    expect(d.deleted.length).toBe(1);
    expect(d.next.size).toBe(0);
  });
});

describe('withTypeMeta', () => {
  it('fills apiVersion and kind from the list', () => {
    const items = [{ metadata: { name: 'x' } }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'y' } }];
    expect(withTypeMeta(items, 'v1', 'SecretList')).toEqual([
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'y' } },
    ]);
  });
});

describe('watchAction', () => {
  const cache = new Map([['ns/a', cm('ns', 'a', '1')]]);
  it('turns ADDED/MODIFIED into add or update depending on the cache', () => {
    expect(watchAction(cache, 'ADDED', cm('ns', 'b', '2')).kind).toBe('add');
    expect(watchAction(cache, 'MODIFIED', cm('ns', 'b', '2')).kind).toBe('add');
    const u = watchAction(cache, 'MODIFIED', cm('ns', 'a', '3'));
    expect(u.kind === 'update' && u.old.metadata?.resourceVersion).toBe('1');
    expect(watchAction(cache, 'ADDED', cm('ns', 'a', '3')).kind).toBe('update');
  });
  it('passes deletes, bookmarks and errors through', () => {
    expect(watchAction(cache, 'DELETED', cm('ns', 'a', '4')).kind).toBe('delete');
    expect(watchAction(cache, 'BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '9' } }).kind).toBe('bookmark');
    expect(watchAction(cache, 'ERROR', { kind: 'Status', code: 410, message: 'too old resource version' })).toEqual({
      kind: 'error',
      status: 410,
      message: 'too old resource version',
    });
    expect(watchAction(cache, 'ERROR', { kind: 'Status' })).toMatchObject({ kind: 'error', status: 500 });
  });
  it('ignores junk', () => {
    expect(watchAction(cache, 'ADDED', null).kind).toBe('ignore');
    expect(watchAction(cache, 'WHATEVER', cm('ns', 'a', '1')).kind).toBe('ignore');
  });
});

describe('buildUrl', () => {
  it('joins server and path and drops empty query values', () => {
    const u = buildUrl('https://127.0.0.1:6443/', '/api/v1/namespaces/ns/secrets', {
      fieldSelector: 'metadata.name=x',
      labelSelector: undefined,
      continue: '',
      limit: 500,
    });
    expect(u.toString()).toBe('https://127.0.0.1:6443/api/v1/namespaces/ns/secrets?fieldSelector=metadata.name%3Dx&limit=500');
  });
});
