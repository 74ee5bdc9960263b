// The relay fuzz's servers: a Node echo server, an echo server on native-adopted sockets, a sink.
import net from 'node:net';
import type { Conn } from '../conn.js';
import { clientConn } from '../movers.js';
import type { Rng } from './random.js';
import { failure } from './report.js';
import { HeaderReader } from './relay-stream.js';

export interface EchoServer {
  kind: 'node' | 'native' | 'sink';
  port: number;
  server: net.Server;
  sockets: Set<net.Socket>;
}

/** The port `server` listens on, once it does (on loopback, a free port). */
async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Echoes one accepted Node socket: kills it at the header's point, pauses for backpressure or at random. */
function echoNode(s: net.Socket, rng: Rng): void {
  s.setNoDelay(true);
  const hr = new HeaderReader();
  s.on('error', () => undefined);
  s.on('data', (d: Buffer) => {
    const kill = hr.feed(d, 'node echo server');
    const ok = s.write(d);
    if (kill) {
      if (rng.chance(0.5)) s.resetAndDestroy();
      else s.destroy();
      return;
    }
    if (!ok) {
      s.pause();
      s.once('drain', () => s.resume());
    } else if (rng.chance(0.02)) {
      s.pause();
      setTimeout(() => s.resume(), rng.int(15));
    }
  });
  s.on('end', () => s.end());
}

/** A Node echo server (half-open allowed: it ends after echoing everything once the client ends). */
export async function nodeEchoServer(rng: Rng): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    echoNode(s, rng);
  });
  return { kind: 'node', port: await listen(server), server, sockets };
}

let nativeServerOpen = 0;

/** An accepted socket adopted by the core, or undefined (a failure) when it was not. */
function adopt(socket: net.Socket): Conn | undefined {
  let c: Conn;
  try {
    c = clientConn(socket, 'native');
  } catch (err) {
    failure('echo', `native echo server: the core did not adopt an accepted socket: ${(err as Error).message}`);
    socket.destroy();
    return undefined;
  }
  if (c.mover !== 'native') failure('echo', `native echo server: an accepted socket went to the ${c.mover} mover`);
  return c;
}

/** Echoes one adopted connection, checking that close comes once and nothing after it. */
function echoNative(c: Conn, rng: Rng): void {
  nativeServerOpen++;
  const hr = new HeaderReader();
  let closed = false;
  c.setHandlers({
    data: (chunk) => {
      if (closed) failure('echo', 'native echo server: data after close');
      const kill = hr.feed(chunk, 'native echo server');
      // The chunk is a view of the core's read buffer: written at once, the core copies what the kernel did not take.
      const ok = c.write(chunk);
      if (kill) return c.destroy();
      if (!ok) {
        c.pause();
        c.whenDrained(() => c.resume());
      } else if (rng.chance(0.02)) {
        c.pause();
        setTimeout(() => c.resume(), rng.int(15));
      }
    },
    close: () => {
      if (closed) failure('echo', 'native echo server: close reported twice');
      closed = true;
      nativeServerOpen--;
    },
  });
}

/** Native connections on the server side: accepted paused, adopted by the core, echoing what they read. */
export async function nativeEchoServer(rng: Rng): Promise<EchoServer> {
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    const c = adopt(socket);
    if (c) echoNative(c, rng);
  });
  return { kind: 'native', port: await listen(server), server, sockets: new Set() };
}

/** A server that accepts and never reads: the client's queue only grows. */
export async function sinkServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.pause();
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  return { kind: 'sink', port: await listen(server), server, sockets };
}

/** How many of the native echo server's connections are still open (0 once all have closed). */
export const nativeEchoOpen = (): number => nativeServerOpen;

/** The relay fuzz's three servers. */
export interface RelayServers {
  node: EchoServer;
  native: EchoServer;
  sink: EchoServer;
}

export async function startRelayServers(rng: Rng): Promise<RelayServers> {
  return { node: await nodeEchoServer(rng.fork()), native: await nativeEchoServer(rng.fork()), sink: await sinkServer() };
}

export function closeRelayServers(servers: RelayServers): void {
  for (const s of Object.values(servers)) {
    for (const sock of s.sockets) sock.destroy();
    s.server.close();
  }
}
