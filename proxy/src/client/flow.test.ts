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

describe('Flow: backpressure toward the backend', () => {
  /** A client whose message was flushed to a backend whose socket is full. */
  function heldClient() {
    const client = fakeConn(true);
    const server = fakeConn(false);
    const b = backendOver(server.conn);
    const flow = new Flow();
    flow.toBackend(b, Buffer.from('Q'));
    flow.flush(client.conn);
    return { client, server, b, flow };
  }

  it('pauses the client while the backend is full, and reads again when it drains', () => {
    const { client, server } = heldClient();
    expect(client.c.paused).toBe(true);
    server.drains.forEach((f) => f());
    expect(client.c.paused).toBe(false);
  });

  it('never pauses the client for a backend whose server is gone (the write fails; no drain will come)', () => {
    const client = fakeConn(true);
    const server = fakeConn(false);
    server.c.write = () => ((server.c.writable = false), false);
    const flow = new Flow();
    flow.toBackend(backendOver(server.conn), Buffer.from('Q'));
    flow.flush(client.conn);
    expect(client.c.paused).toBe(false);
  });

  it('lets a held client read again when its backend leaves the session (release without a drain)', () => {
    const { client, b, flow } = heldClient();
    flow.release(backendOver(fakeConn(true).conn)); // another backend: no effect
    expect(client.c.paused).toBe(true);
    flow.release(b);
    expect(client.c.paused).toBe(false);
  });
});

describe("Flow: the client's reading is held while any reason holds it", () => {
  it('pauses the client when its own socket is full, also with no backend (replies the proxy gives itself)', () => {
    const client = fakeConn(false);
    const flow = new Flow();
    flow.toClient(client.conn, Buffer.from('Z'), undefined);
    expect(client.c.paused).toBe(true);
    flow.toClient(client.conn, Buffer.from('Z'), undefined);
    expect(client.drains).toHaveLength(1);
    client.drains.forEach((f) => f());
    expect(client.c.paused).toBe(false);
  });

  it('reads again only once the last of the holds (client full, backend full, queue) is gone', () => {
    const client = fakeConn(false);
    const server = fakeConn(false);
    const b = backendOver(server.conn);
    const flow = new Flow();
    flow.toClient(client.conn, Buffer.from('D'), b);
    flow.toBackend(b, Buffer.from('Q'));
    flow.flush(client.conn);
    flow.queueFull(client.conn, true);
    expect(client.c.paused).toBe(true);
    client.drains.forEach((f) => f());
    expect([client.c.paused, server.c.paused]).toEqual([true, false]);
    server.drains.forEach((f) => f());
    expect(client.c.paused).toBe(true);
    flow.queueFull(client.conn, false);
    expect(client.c.paused).toBe(false);
  });

  it('a full queue alone holds the client, and lets it go when the queue is under its cap', () => {
    const client = fakeConn(true);
    const flow = new Flow();
    flow.queueFull(client.conn, false);
    expect(client.c.paused).toBe(false);
    flow.queueFull(client.conn, true);
    flow.queueFull(client.conn, true);
    expect(client.c.paused).toBe(true);
    flow.queueFull(client.conn, false);
    expect(client.c.paused).toBe(false);
  });
});
