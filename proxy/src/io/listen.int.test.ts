/**
 * The PostgreSQL listeners of both movers over real loopback sockets: the native core accepting
 * clients itself, Node's TCP server for the other. Each client arrives as a Conn of its mover with
 * its address; a bound port 0 is told; closing stops accepting while accepted clients go on; a busy
 * port fails as Node's listen does; a burst larger than one accept batch is taken whole; a core out
 * of descriptors waits and accepts again once it has some (needs `npm run build`: a child process).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/wait.js';
import type { Conn, Mover } from './conn.js';
import { listenPostgres, type Listener } from './listen.js';
import { nativeUnavailable } from './native-conn.js';
import { owned } from './read-buffer.js';

const movers: Mover[] = nativeUnavailable() === undefined ? ['native', 'node'] : ['node'];
const hasIpv6Loopback = Object.values(os.networkInterfaces()).some((l) => l?.some((a) => a.address === '::1'));

const open: { listeners: Listener[]; sockets: net.Socket[]; conns: Conn[] } = { listeners: [], sockets: [], conns: [] };
afterEach(() => {
  for (const s of open.sockets.splice(0)) s.destroy();
  for (const c of open.conns.splice(0)) c.destroy();
  for (const l of open.listeners.splice(0)) l.close();
});

async function listening(mover: Mover, host = '127.0.0.1', port = 0): Promise<{ listener: Listener; port: number; conns: Conn[] }> {
  const conns: Conn[] = [];
  const listener = await listenPostgres(host, port, mover, (c) => {
    conns.push(c);
    open.conns.push(c);
  });
  open.listeners.push(listener);
  return { listener, port: Number(listener.address.split(':').pop()), conns };
}

function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host }, () => resolve(s));
    s.once('error', reject);
    open.sockets.push(s);
  });
}

/** Echoes what `c` reads back to it. */
function echo(c: Conn): void {
  c.setHandlers({ data: (b) => c.write(owned(b)), close: () => {} });
}

async function roundTrip(s: net.Socket, text: string): Promise<string> {
  const got: Buffer[] = [];
  const onData = (d: Buffer) => got.push(d);
  s.on('data', onData);
  s.write(text);
  await waitFor(() => Buffer.concat(got).length >= text.length, `the echo of "${text}"`);
  s.off('data', onData);
  return Buffer.concat(got).toString();
}

describe.each(movers)('listenPostgres on the %s mover', (mover) => {
  it('hands each client on as a Conn of its mover, with the address it came from, on the port it was given', async () => {
    const { listener, port, conns } = await listening(mover);
    expect(port).toBeGreaterThan(0);
    expect(listener.address).toBe(`127.0.0.1:${port}`);
    expect(listener.listening).toBe(true);
    const s = await connect(port);
    await waitFor(() => conns.length === 1, 'the accept');
    const c = conns[0]!;
    expect(c.mover).toBe(mover);
    expect(c.remoteAddress).toBe('127.0.0.1');
    expect(c.remotePort).toBe(s.localPort);
    echo(c);
    expect(await roundTrip(s, 'ping')).toBe('ping');
  });

  it('stops accepting when closed, while the clients it accepted go on', async () => {
    const { listener, port, conns } = await listening(mover);
    const s = await connect(port);
    await waitFor(() => conns.length === 1, 'the accept');
    echo(conns[0]!);
    listener.close();
    expect(listener.listening).toBe(false);
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await roundTrip(s, 'still here')).toBe('still here');
    expect(conns).toHaveLength(1);
  });

  it('refuses a port already in use with the error Node gives', async () => {
    const { port } = await listening(mover);
    const err = await listenPostgres('127.0.0.1', port, mover, () => {}).then(
      (l) => {
        open.listeners.push(l);
        return undefined;
      },
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('EADDRINUSE');
    expect(err?.message).toBe(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
  });

  it('takes a burst of clients larger than one accept batch, each once', async () => {
    const { port, conns } = await listening(mover);
    const n = 300;
    const sockets = await Promise.all(Array.from({ length: n }, () => connect(port)));
    await waitFor(() => conns.length === n, `${n} accepts`);
    const ports = new Set(conns.map((c) => c.remotePort));
    expect(ports).toEqual(new Set(sockets.map((s) => s.localPort)));
  });

  it('looks up a host name first, as Node does', async () => {
    const { listener, port, conns } = await listening(mover, 'localhost');
    expect(['127.0.0.1', '::1']).toContain(listener.address.slice(0, listener.address.lastIndexOf(':')));
    await connect(port, listener.address.startsWith('::1') ? '::1' : '127.0.0.1');
    await waitFor(() => conns.length === 1, 'the accept');
  });

  it.runIf(hasIpv6Loopback)('listens on IPv6 and tells an IPv6 peer', async () => {
    const { port, conns } = await listening(mover, '::1');
    const s = await connect(port, '::1');
    await waitFor(() => conns.length === 1, 'the accept');
    expect(conns[0]!.remoteAddress).toBe('::1');
    expect(conns[0]!.remotePort).toBe(s.localPort);
  });
});

/**
 * A child process with 48 descriptors listens on the core and echoes, closing each connection when
 * its client does. 80 clients connect at once: past its limit the core cannot accept (EMFILE) and
 * must back off instead of spinning; as the first clients go, it accepts the rest.
 */
const LISTEN_JS = path.resolve(import.meta.dirname, '../../../dist/proxy/src/io/listen.js');
const CHILD = `
const { listenPostgres } = await import(${JSON.stringify(LISTEN_JS)});
let accepted = 0;
const l = await listenPostgres('127.0.0.1', 0, 'native', (c) => {
  accepted++;
  c.setHandlers({ data: (b) => c.write(Buffer.from(b)), close: () => {} });
});
setInterval(() => console.log('accepted', accepted), 50);
console.log('port', l.address.split(':').pop());
`;

describe.runIf(movers.includes('native'))('the native listener out of descriptors', () => {
  it('backs off while accept fails with EMFILE and accepts the waiting clients once descriptors are free', async () => {
    const child = spawn('bash', ['-c', `ulimit -n 48 && exec "${process.execPath}" --input-type=module -e "$0"`, CHILD], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => /port (\d+)/.test(out), 'the child listening');
      const port = Number(/port (\d+)/.exec(out)![1]);
      const accepted = () => Number([...out.matchAll(/accepted (\d+)/g)].pop()?.[1] ?? 0);
      const n = 80;
      const sockets = await Promise.all(Array.from({ length: n }, () => connect(port)));
      await waitFor(() => accepted() > 0 && accepted() < n, 'the first accepts, up to the limit');
      const first = accepted();
      // The kernel completed every handshake (the backlog): the rest wait for the core.
      expect(first).toBeLessThan(n);
      for (let i = 0; i < n; i++) {
        expect(await roundTrip(sockets[i]!, `client ${i}`)).toBe(`client ${i}`);
        sockets[i]!.destroy();
      }
      await waitFor(() => accepted() === n, 'every client accepted');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
