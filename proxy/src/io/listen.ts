/** The PostgreSQL listeners: TCP servers whose accepted sockets a mover can take (paused for the native core), and their addresses. */
import net from 'node:net';
import type { Mover } from './conn.js';

/** Listens on `host`:`port` for clients; each accepted socket goes to `onSocket`. */
export async function listenPostgres(host: string, port: number, mover: Mover, onSocket: (socket: net.Socket) => void): Promise<net.Server> {
  // For the native core a new socket stays paused: the core takes its descriptor before any read.
  const server = net.createServer({ noDelay: true, pauseOnConnect: mover === 'native' }, onSocket);
  server.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 4096 }, () => resolve());
  });
  return server;
}

/** A listening server's address as host:port; '' before it listens (or without one). */
export function addressOf(server: net.Server | undefined): string {
  const a = server?.address();
  return a && typeof a === 'object' ? `${a.address}:${a.port}` : '';
}
