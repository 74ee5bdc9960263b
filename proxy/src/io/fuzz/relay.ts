// The raw relay fuzz: workers running checked streams, connection bursts, refused connects, the hard cap.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { waitFor } from '../../testing/wait.js';
import type { Conn } from '../conn.js';
import { connectConn } from '../movers.js';
import type { EchoServer, RelayServers } from './echo-servers.js';
import type { Rng } from './random.js';
import { relayClient } from './relay-client.js';
import type { ClientState } from './relay-end.js';
import { nextRelayId } from './relay-stream.js';
import { doing, failure, stats } from './report.js';

/** Many native connections at once: the core's connection table grows (and its ids are reused). */
async function relayBurst(rng: Rng, servers: EchoServer[]): Promise<void> {
  stats.relay.bursts++;
  const n = rng.between(40, 150);
  await Promise.all(Array.from({ length: n }, () => relayClient(rng.fork(), 'native', rng.pick(servers), 'small')));
}

/** A native connect whose close is recorded in `st` and checked to come once; undefined when it threw (checked). */
async function refusedConnect(label: string, port: number, st: ClientState): Promise<Conn | undefined> {
  try {
    return await connectConn('127.0.0.1', port, 'native', {
      data: () => failure('echo', `${label}: data on a refused connection`),
      close: (err) => {
        if (st.closed) failure('echo', `${label}: close reported twice`);
        st.closed = true;
        st.err = err;
      },
      connect: () => (st.connected = true),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ECONNREFUSED') failure('echo', `${label}: connect threw ${code ?? (err as Error).message}`);
    return undefined;
  }
}

/** A connect to a closed port fails with ECONNREFUSED (or is destroyed while connecting): one close, no connect. */
async function relayRefused(rng: Rng, port: number): Promise<void> {
  stats.relay.refused++;
  const label = `refused connect #${nextRelayId()} to port ${port}`;
  const st: ClientState = { closed: false, err: undefined, connected: false, problem: false };
  const conn = await refusedConnect(label, port, st);
  if (!conn) return;
  const destroy = rng.chance(0.4);
  if (rng.chance(0.5)) conn.write(rng.bytes(rng.int(100_000))); // queued while connecting, never sent
  if (destroy) conn.destroy();
  await waitFor(() => st.closed, `${label}: close`, { timeoutMs: 10_000, intervalMs: 1 });
  if (st.connected) failure('echo', `${label}: reported connected to a port nobody listens on`);
  const code = (st.err as { code?: string } | undefined)?.code;
  if (!destroy && code !== 'ECONNREFUSED') failure('echo', `${label}: closed with ${code ?? 'no error'}, expected ECONNREFUSED`);
}

/** Writes past the core's 64 MiB hard cap to a peer that never reads: the connection must fail with an error. */
async function relayHardCap(sink: EchoServer): Promise<void> {
  const label = `hard cap #${nextRelayId()}`;
  const st: ClientState = { closed: false, err: undefined, connected: false, problem: false };
  const conn = await connectConn('127.0.0.1', sink.port, 'native', {
    data: () => undefined,
    close: (err) => {
      st.closed = true;
      st.err = err;
    },
    connect: () => (st.connected = true),
  });
  await waitFor(() => st.connected || st.closed, `${label}: connect`, { timeoutMs: 10_000, intervalMs: 1 });
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < 160 && !st.closed; i++) {
    conn.write(chunk);
    if (i % 8 === 7) await nextTurn();
  }
  await waitFor(() => st.closed, `${label}: close once the queue passed 64 MiB`, { timeoutMs: 10_000, intervalMs: 5 });
  const code = (st.err as { code?: string } | undefined)?.code;
  stats.relay.hardCap = code ?? 'none';
  if (!st.err) failure('echo', `${label}: the queue passed its hard cap and the connection closed without an error`);
  for (const s of sink.sockets) s.destroy();
}

type RelayJob = 'native->node' | 'native->native' | 'node->native' | 'burst' | 'refused' | 'hardcap';

function pickJob(rng: Rng): RelayJob {
  const r = rng.int(100);
  return r < 28 ? 'native->node' : r < 52 ? 'native->native' : r < 82 ? 'node->native' : r < 89 ? 'burst' : r < 96 ? 'refused' : 'hardcap';
}

let hardCapDone = false;

async function runJob(what: RelayJob, rng: Rng, servers: RelayServers, refusedPort: number, start: number): Promise<void> {
  if (what === 'native->node') await relayClient(rng.fork(), 'native', servers.node);
  else if (what === 'native->native') await relayClient(rng.fork(), 'native', servers.native);
  else if (what === 'node->native') await relayClient(rng.fork(), 'node', servers.native);
  else if (what === 'burst') await relayBurst(rng.fork(), [servers.node, servers.native]);
  else if (what === 'refused') await relayRefused(rng.fork(), refusedPort);
  else if (!hardCapDone && Date.now() - start > 2_000) {
    hardCapDone = true;
    await relayHardCap(servers.sink);
  }
}

/** One relay worker: random relay jobs until the deadline (the hard cap once, 2 s or more into the run). */
export async function relayWorker(name: string, rng: Rng, servers: RelayServers, refusedPort: number, deadline: number, start: number): Promise<void> {
  while (Date.now() < deadline) {
    const what = pickJob(rng);
    doing.set(name, what);
    try {
      await runJob(what, rng, servers, refusedPort, start);
    } catch (err) {
      failure('echo', `${what}: ${(err as Error).message}`);
    }
  }
  doing.delete(name);
}
