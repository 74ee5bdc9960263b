/**
 * Which mover serves a connection: the native core for plaintext TCP when it is built and allowed
 * (`io: auto|native|node`; DBPROXY_IO sets what `auto` means, for tests), Node's sockets otherwise.
 */
import net from 'node:net';
import type { Conn, ConnHandlers, Mover } from './conn.js';
import { NativeConn, nativeCore, nativeUnavailable, numericAddress } from './native-conn.js';
import { NodeConn } from './node-conn.js';

export type IoSetting = 'auto' | 'native' | 'node';

/** The mover for plaintext connections; throws if `native` is forced and the core cannot load. */
export function resolveMover(setting: IoSetting): { mover: Mover; note?: string } {
  const wanted = setting === 'auto' ? envSetting() : setting;
  if (wanted === 'node') return { mover: 'node' };
  const why = nativeUnavailable();
  if (why === undefined) return { mover: 'native' };
  if (wanted === 'native') throw new Error(`io: native was asked for, but ${why}`);
  return { mover: 'node', note: `${why}; every connection uses Node's sockets` };
}

function envSetting(): IoSetting {
  const v = process.env['DBPROXY_IO'];
  return v === 'native' || v === 'node' ? v : 'auto';
}

/** An accepted client socket under `mover` (for native, the socket was accepted paused). */
export function clientConn(socket: net.Socket, mover: Mover): Conn {
  const core = mover === 'native' ? nativeCore() : undefined;
  if (!core) {
    if (socket.isPaused()) socket.resume();
    return new NodeConn(socket);
  }
  return NativeConn.adopt(core, socket);
}

/** Connects to a database server under `mover`; `h.connect` or `h.close` follows. */
export async function connectConn(host: string, port: number, mover: Mover, h: ConnHandlers): Promise<Conn> {
  const core = mover === 'native' ? nativeCore() : undefined;
  if (!core) {
    const c = new NodeConn(net.connect({ host, port }));
    c.setHandlers(h);
    return c;
  }
  const ip = await numericAddress(host);
  return NativeConn.connect(core, ip, port, h);
}
