import { describe, expect, it } from 'vitest';
import type { BackendConnection } from '../backend/connection.js';
import type { Conn } from '../io/conn.js';
import { Flow } from './flow.js';

/** A connection that records what the flow does to it (pure logic: no sockets). */
function fakeConn(accepts: boolean, writable = true) {
  const drains: (() => void)[] = [];
  const c = {
    paused: false,
    writable,
    write: () => accepts,
    whenDrained: (f: () => void) => drains.push(f),
    pause: () => (c.paused = true),
    resume: () => (c.paused = false),
  };
  return { c, conn: c as unknown as Conn, drains };
}

function backendOver(conn: Conn): BackendConnection {
  return { conn, closed: false } as unknown as BackendConnection;
}

describe('Flow: backpressure toward the client', () => {
  it('pauses the backend while the client is full, and reads again when it drains', () => {
    const client = fakeConn(false);
    const server = fakeConn(true);
    const flow = new Flow();
    flow.toClient(client.conn, Buffer.from('x'), backendOver(server.conn));
    expect(server.c.paused).toBe(true);
    client.drains.forEach((f) => f());
    expect(server.c.paused).toBe(false);
  });

  it('never holds a backend back for a client that can take no more bytes (closed or failing)', () => {
    const client = fakeConn(false, false);
    const server = fakeConn(true);
    new Flow().toClient(client.conn, Buffer.from('x'), backendOver(server.conn));
    expect(server.c.paused).toBe(false);
  });

  it('lets a paused backend read again when the client goes (resume without a drain)', () => {
    const client = fakeConn(false);
    const server = fakeConn(true);
    const flow = new Flow();
    flow.toClient(client.conn, Buffer.from('x'), backendOver(server.conn));
    flow.resume();
    expect(server.c.paused).toBe(false);
  });
});
