import { describe, expect, it } from 'vitest';
import { imageFor, isAgentPod } from './images.js';

describe('imageFor', () => {
  it.each([
    ['ghcr.io/dbproxy/dbproxy:0.1.0', 'dbproxy', 'SIGTERM'],
    ['dbproxy:dev', 'dbproxy', 'SIGTERM'],
    ['postgres:15', 'postgres', 'SIGINT'],
    ['docker.io/library/postgres:15.18', 'postgres', 'SIGINT'],
    ['postgres', 'postgres', 'SIGINT'],
  ])('%s runs as %s, stopped by %s', (image, name, signal) => {
    expect(imageFor(image)).toMatchObject({ name, stopSignal: signal });
  });

  it.each(['nginx:1.27', 'postgres-exporter:0.15', 'busybox', '', undefined])('does not run %s', (image) => {
    expect(imageFor(image)).toBeUndefined();
  });

  it('runs dbproxy images as bin/dbproxy and postgres images as the local postgres entrypoint with PGDATA in the pod dir', () => {
    expect(imageFor('dbproxy:dev')!.command('/r', ['proxy', '--listen', ':5432']).slice(1)).toEqual(['/r/bin/dbproxy', 'proxy', '--listen', ':5432']);
    const pg = imageFor('postgres:15')!;
    expect(pg.command('/r', ['-c', 'max_connections=60'])).toEqual(['/r/e2e/agent/images/postgres', '-c', 'max_connections=60']);
    expect(pg.env('/state/pods/ns_db-0.data')).toEqual({ PGDATA: '/state/pods/ns_db-0.data/pgdata' });
  });
});

describe('isAgentPod', () => {
  it('picks pods whose first container image the agent knows', () => {
    expect(isAgentPod({ spec: { containers: [{ name: 'c', image: 'dbproxy:dev' }] } })).toBe(true);
    expect(isAgentPod({ spec: { containers: [{ name: 'c', image: 'postgres:15' }] } })).toBe(true);
    expect(isAgentPod({ spec: { containers: [{ name: 'c', image: 'redis:7' }] } })).toBe(false);
    expect(isAgentPod({})).toBe(false);
  });
});
