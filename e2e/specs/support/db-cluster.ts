/**
 * PostgreSQL for the specs, as pods (image postgres:15, run by the node agent in their own network
 * namespaces): a small StatefulSet-like fixture. Members `<name>-0`, `<name>-1`, …; member 0 starts as
 * the primary, the others as streaming standbys of a member. Two Services, as HA operators give
 * them: `<name>-rw` selects the primary by its member label (a failover moves the selector, as
 * CloudNativePG's `-rw` Service or Patroni's endpoints move), `<name>-ro` selects role=replica.
 */
import { getJson, kubectl } from './kubectl.js';
import { psql } from './psql.js';
import { waitFor } from './wait.js';

const CLUSTER = 'dbproxy.io/e2e-db';
const MEMBER = 'dbproxy.io/e2e-member';
const ROLE = 'dbproxy.io/e2e-role';

export interface DbClusterOptions {
  name: string;
  user: string;
  password: string;
  /** postgresql.conf settings, e.g. { max_connections: '60' }. */
  settings?: Record<string, string>;
}

export interface DbCluster {
  readonly rw: string;
  readonly ro: string;
  /** Starts member `index` (a standby of member `standbyOf` when given) and resolves with its pod IP once it is ready. */
  startMember(index: number, standbyOf?: number): Promise<string>;
  ip(index: number): Promise<string>;
  /** SELECT pg_promote() on the member, waiting until it is out of recovery. */
  promote(index: number): Promise<void>;
  /** Points `<name>-rw` at the member and moves its role label from replica to primary. */
  makeWriter(index: number): Promise<void>;
  /** Deletes the member's pod at once (grace period 0): the agent SIGKILLs it, as a crashed node would. */
  kill(index: number): Promise<void>;
  sql(index: number, sql: string): Promise<string>;
}

function pod(ns: string, o: DbClusterOptions, index: number, primaryIp?: string): object {
  const settings = Object.entries(o.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${o.name}-${index}`,
      namespace: ns,
      labels: { [CLUSTER]: o.name, [MEMBER]: `${o.name}-${index}`, [ROLE]: primaryIp ? 'replica' : 'primary' },
    },
    spec: {
      containers: [
        {
          name: 'postgres',
          image: 'postgres:15',
          args: settings,
          env: [
            { name: 'POSTGRES_USER', value: o.user },
            { name: 'POSTGRES_PASSWORD', value: o.password },
            ...(primaryIp ? [{ name: 'PRIMARY_HOST', value: primaryIp }] : []),
          ],
          ports: [{ name: 'postgres', containerPort: 5432 }],
          readinessProbe: { exec: { command: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', '5432'] }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    },
  };
}

function service(ns: string, name: string, selector: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector, ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }] },
  };
}

async function readyIp(ns: string, name: string): Promise<string> {
  return waitFor(
    `pod ${name} ready`,
    async () => {
      const p = await getJson<{ status?: { podIP?: string; conditions?: { type: string; status: string }[] } }>(['-n', ns, 'get', 'pod', name]);
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status.podIP : undefined;
    },
    120_000,
  );
}

export async function startDbCluster(ns: string, o: DbClusterOptions): Promise<DbCluster> {
  const rw = `${o.name}-rw`;
  const ro = `${o.name}-ro`;
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [service(ns, rw, { [CLUSTER]: o.name, [MEMBER]: `${o.name}-0` }), service(ns, ro, { [CLUSTER]: o.name, [ROLE]: 'replica' })],
    }),
  );
  const ip = (index: number) => readyIp(ns, `${o.name}-${index}`);
  const sql = async (index: number, text: string) => psql({ host: await ip(index), port: 5432, user: o.user, password: o.password, sql: text });
  const cluster: DbCluster = {
    rw,
    ro,
    async startMember(index, standbyOf) {
      const primaryIp = standbyOf === undefined ? undefined : await ip(standbyOf);
      await kubectl(['apply', '-f', '-'], JSON.stringify(pod(ns, o, index, primaryIp)));
      return ip(index);
    },
    ip,
    sql,
    async promote(index) {
      await sql(index, 'SELECT pg_promote(true, 30)');
      await waitFor(`${o.name}-${index} out of recovery`, async () => (await sql(index, 'SELECT pg_is_in_recovery()')).trim() === 'f');
    },
    async makeWriter(index) {
      await kubectl(['-n', ns, 'label', 'pod', `${o.name}-${index}`, `${ROLE}=primary`, '--overwrite']);
      await kubectl([
        '-n',
        ns,
        'patch',
        'service',
        rw,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { selector: { [CLUSTER]: o.name, [MEMBER]: `${o.name}-${index}` } } }),
      ]);
    },
    async kill(index) {
      await kubectl(['-n', ns, 'delete', 'pod', `${o.name}-${index}`, '--grace-period=0', '--force', '--wait=false']);
    },
  };
  return cluster;
}

/** The ready addresses in a Service's EndpointSlices: what kube-proxy would route the Service to. */
export async function serviceAddresses(ns: string, service: string): Promise<string[]> {
  const slices = await getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>([
    '-n',
    ns,
    'get',
    'endpointslices',
    '-l',
    `kubernetes.io/service-name=${service}`,
  ]);
  return slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)).sort();
}
