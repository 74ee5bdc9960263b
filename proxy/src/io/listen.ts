/**
 * The PostgreSQL listeners: on the native core, a listener of the core's own (native-listener.ts);
 * on Node's sockets, a TCP server. Either hands each client on as a Conn.
 */
import net from 'node:net';
import type { Conn, Mover } from './conn.js';
import { nativeCore } from './native-conn.js';
import { NativeListener } from './native-listener.js';
import { NodeConn } from './node-conn.js';

export interface Listener {
  readonly listening: boolean;
  /** host:port it listens on. */
  readonly address: string;
  /** Stops accepting; connections already accepted go on. */
  close(): void;
}

const BACKLOG = 4096;

/** Listens on `host`:`port` for clients under `mover`; each accepted one goes to `onConn`. */
export async function listenPostgres(host: string, port: number, mover: Mover, onConn: (conn: Conn) => void): Promise<Listener> {
  const core = mover === 'native' ? nativeCore() : undefined;
  if (core) return NativeListener.listen(core, host, port, BACKLOG, onConn);
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    onConn(new NodeConn(socket));
  });
  server.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: BACKLOG }, () => resolve());
  });
  return {
    get listening() {
      return server.listening;
    },
    address: addressOf(server),
    close: () => server.close(),
  };
}

/** A listening server's address as host:port; '' before it listens (or without one). */
export function addressOf(server: net.Server | undefined): string {
  const a = server?.address();
  return a && typeof a === 'object' ? `${a.address}:${a.port}` : '';
}
