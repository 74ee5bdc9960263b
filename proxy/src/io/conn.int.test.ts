/**
 * The I/O interface, the same tests for both movers, over real loopback sockets: bytes both ways
 * in order, backpressure and drain, pause, end, destroy, refused connects, adopted accepted sockets
 * and the hand-over to a Node socket (the TLS path).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/wait.js';
import type { Conn, Mover } from './conn.js';
import { clientConn, connectConn } from './movers.js';
import { nativeUnavailable } from './native-conn.js';
import { owned } from './read-buffer.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A loopback server; `onSocket` gets every accepted socket. */
async function server(onSocket: (s: net.Socket) => void, pauseOnConnect = false): Promise<number> {
  const s = net.createServer({ pauseOnConnect }, onSocket);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

interface Seen {
  bytes: Buffer[];
  closed: boolean;
  error: Error | undefined;
  connected: boolean;
}

function watch(): { seen: Seen; handlers: Parameters<typeof connectConn>[3] } {
  const seen: Seen = { bytes: [], closed: false, error: undefined, connected: false };
  return {
    seen,
    handlers: {
      data: (b) => seen.bytes.push(owned(b)),
      close: (err) => {
        seen.closed = true;
        seen.error = err;
      },
      connect: () => (seen.connected = true),
    },
  };
}

it('the native I/O core is built and loads (make build builds it)', () => {
  expect(nativeUnavailable()).toBeUndefined();
});

const total = (bs: Buffer[]) => bs.reduce((n, b) => n + b.length, 0);
const movers: Mover[] = nativeUnavailable() === undefined ? ['native', 'node'] : ['node'];

describe.each(movers)('Conn over the %s mover', (mover) => {
  it('carries bytes both ways, in order, and closes once when the peer closes', async () => {
    let peer: net.Socket | undefined;
    const got: Buffer[] = [];
    const port = await server((s) => {
      peer = s;
      s.on('data', (d) => got.push(d));
    });
    const { seen, handlers } = watch();
    const c = await connectConn('127.0.0.1', port, mover, handlers);
    expect(c.mover).toBe(mover);
    await waitFor(() => seen.connected && peer, 'connect');
    const payload = Buffer.alloc(300_000, 7);
    payload.writeUInt32BE(0xdeadbeef, 0);
    c.write(payload);
    await waitFor(
      () => total(got) === payload.length,
      () => `peer got ${total(got)} of ${payload.length}`,
    );
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    peer!.write(Buffer.from('hello'));
    await waitFor(() => total(seen.bytes) === 5, 'reply');
    expect(Buffer.concat(seen.bytes).toString()).toBe('hello');
    peer!.end();
    await waitFor(() => seen.closed, 'close');
    expect(seen.error).toBeUndefined();
    expect(c.destroyed).toBe(true);
  });

  it('says "full" past the high-water mark while the peer does not read, and drains after', async () => {
    let peer: net.Socket | undefined;
    const port = await server((s) => {
      peer = s;
      s.pause();
    });
    const { seen, handlers } = watch();
    const c = await connectConn('127.0.0.1', port, mover, handlers);
    await waitFor(() => seen.connected && peer, 'connect');
    const chunk = Buffer.alloc(64 * 1024, 1);
    let writes = 0;
    while (c.write(chunk) && writes < 10_000) writes++;
    expect(writes).toBeLessThan(10_000); // the kernel's buffers filled and the mover said so
    let drained = false;
    c.whenDrained(() => (drained = true));
    let read = 0;
    peer!.on('data', (d) => (read += d.length));
    peer!.resume();
    await waitFor(() => drained, 'drain');
    await waitFor(
      () => read === (writes + 1) * chunk.length,
      () => `peer read ${read}`,
    );
    c.destroy();
    await waitFor(() => seen.closed, 'close');
  });

  it('stops reading while paused and reads on resume', async () => {
    let peer: net.Socket | undefined;
    const port = await server((s) => (peer = s));
    const { seen, handlers } = watch();
    const c = await connectConn('127.0.0.1', port, mover, handlers);
    await waitFor(() => seen.connected && peer, 'connect');
    c.pause();
    peer!.write('abc');
    await new Promise((r) => setTimeout(r, 100));
    expect(total(seen.bytes)).toBe(0);
    c.resume();
    await waitFor(() => total(seen.bytes) === 3, 'data after resume');
    c.destroy();
    await waitFor(() => seen.closed, 'close');
  });

  it('end(last) delivers the last bytes and half-closes; the connection closes when the peer does', async () => {
    const got: Buffer[] = [];
    let ended = false;
    const port = await server((s) => {
      s.on('data', (d) => got.push(d));
      s.on('end', () => {
        ended = true;
        s.end();
      });
    });
    const { seen, handlers } = watch();
    const c = await connectConn('127.0.0.1', port, mover, handlers);
    await waitFor(() => seen.connected, 'connect');
    c.end(Buffer.from('bye'));
    expect(c.writable).toBe(false);
    await waitFor(() => ended, 'peer saw the end');
    expect(Buffer.concat(got).toString()).toBe('bye');
    await waitFor(() => seen.closed, 'close');
  });

  it('reports a refused connect as an error naming the address', async () => {
    const port = await server(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    const { seen, handlers } = watch();
    await connectConn('127.0.0.1', port, mover, handlers).catch(() => undefined);
    await waitFor(() => seen.closed, 'close');
    expect(seen.error?.message).toMatch(new RegExp(`ECONNREFUSED 127.0.0.1:${port}`));
  });

  it('takes over an accepted socket and hands it back as a Node socket', async () => {
    const conns: Conn[] = [];
    const port = await server((s) => conns.push(clientConn(s, mover)), mover === 'native');
    const client = net.connect(port, '127.0.0.1');
    const fromServer: Buffer[] = [];
    client.on('data', (d) => fromServer.push(d));
    await waitFor(() => conns.length === 1, 'accept');
    const c = conns[0]!;
    const { seen, handlers } = watch();
    c.setHandlers(handlers);
    client.write('ping');
    await waitFor(() => total(seen.bytes) === 4, 'ping');
    expect(c.remotePort).toBe(client.localPort);
    c.write(Buffer.from('pong'));
    await waitFor(() => Buffer.concat(fromServer).toString() === 'pong', 'pong');
    const s = c.toSocket();
    const later: Buffer[] = [];
    s.on('data', (d) => later.push(d));
    client.write('after');
    await waitFor(() => Buffer.concat(later).toString() === 'after', 'bytes on the Node socket');
    expect(seen.closed).toBe(false); // the handed-over connection reports nothing more
    s.destroy();
    client.destroy();
  });
});
