/**
 * A PostgreSQL listener of the native I/O core: the core accepts each client itself, so a new
 * connection costs no Node socket (made, then destroyed, to hand its descriptor over). The same
 * face as a Node listener (listen.ts): listening, address, close.
 */
import { getSystemErrorMap } from 'node:util';
import type { Conn } from './conn.js';
import type { Listener } from './listen.js';
import { type NativeCore, numericAddress, setAcceptor } from './native-conn.js';

export class NativeListener implements Listener {
  private open = true;

  private constructor(
    private readonly core: NativeCore,
    private readonly id: number,
    readonly address: string,
  ) {}

  /** Listens on `host`:`port` (a name is looked up first, as Node's listen does); every client goes to `onConn`. */
  static async listen(core: NativeCore, host: string, port: number, backlog: number, onConn: (conn: Conn) => void): Promise<NativeListener> {
    const ip = await numericAddress(host);
    const id = core.listen(ip, port, backlog);
    if (id < 0) throw listenError(id, ip, port);
    const bound = core.listenPort(id);
    const l = new NativeListener(core, id, `${ip}:${bound < 0 ? port : bound}`);
    setAcceptor(id, onConn);
    return l;
  }

  get listening(): boolean {
    return this.open;
  }

  /** Stops accepting; connections already accepted go on. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    setAcceptor(this.id, undefined);
    this.core.unlisten(this.id);
  }
}

/** The error Node's listen gives, e.g. `listen EADDRINUSE: address already in use 127.0.0.1:6432`. */
function listenError(errno: number, ip: string, port: number): Error {
  const [code, text] = getSystemErrorMap().get(errno) ?? ['UNKNOWN', 'unknown error'];
  return Object.assign(new Error(`listen ${code}: ${text} ${ip}:${port}`), { code, errno, syscall: 'listen', address: ip, port });
}
