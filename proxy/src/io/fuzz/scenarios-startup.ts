// Hostile scenarios around the startup: garbage, odd startups, cancel requests, one byte at a time.
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import { frames, int32s, PROTOCOLS, q, startupFrame, validFrame } from './frames.js';
import { Hostile } from './hostile-client.js';
import { HOSTILE_USER } from './knobs.js';
import { mutate } from './mutate.js';
import type { Rng } from './random.js';

/** Random bytes instead of a startup (sometimes with a plausible length first). */
export async function garbage(h: Hostile, rng: Rng): Promise<void> {
  const bytes = rng.bytes(rng.between(1, 8192));
  if (rng.chance(0.3) && bytes.length >= 4) bytes.writeInt32BE(rng.between(8, 300), 0);
  await h.send(rng, bytes);
  await h.until(() => h.closed, rng.int(300));
}

/** The first bytes of a pre-startup scenario, one way each (SSL requests expect their one-byte answer). */
const OPENINGS: ((h: Hostile, rng: Rng) => Buffer[])[] = [
  (_h, rng) => [mutate(rng, startupFrame(rng), 0)],
  (h, rng) => {
    h.expectSslAnswer();
    return [serialize.requestSsl(), rng.chance(0.5) ? startupFrame(rng) : mutate(rng, startupFrame(rng), 0)];
  },
  (h, rng) => {
    h.expectSslAnswer();
    return [int32s(8, 80877104), startupFrame(rng)];
  },
  (_h, rng) => [mutate(rng, serialize.cancel(rng.u32() | 0, rng.u32() | 0), 0)],
  (_h, rng) => {
    const f = Buffer.from(startupFrame(rng));
    f.writeInt32BE(rng.pick(PROTOCOLS), 4);
    return [f];
  },
  (_h, rng) => {
    const f = startupFrame(rng);
    return [f.subarray(0, rng.int(f.length))];
  },
  (_h, rng) => [mutate(rng, serialize.requestSsl(), 0), startupFrame(rng)],
];

/** A mutated, truncated or odd startup (SSL, GSSENC, cancel, unknown protocol); a few frames if it logged in. */
export async function preStartup(h: Hostile, rng: Rng): Promise<void> {
  const parts = OPENINGS[rng.int(OPENINGS.length)]!(h, rng);
  await h.send(rng, Buffer.concat(parts));
  await h.until(() => h.ready > 0, rng.int(500));
  if (h.ready > 0 && rng.chance(0.5)) await h.send(rng, frames(rng, rng.between(1, 4), 0.5));
}

/** A CancelRequest (sometimes mutated) from a second connection, for a statement the first one runs. */
export async function cancel(h: Hostile, rng: Rng, port: number): Promise<void> {
  if (!(await h.login(rng)) || !h.key) return;
  await h.send(rng, q('select pg_sleep(0.5)'));
  await sleep(rng.int(100));
  const c = new Hostile(port);
  if (await c.until(() => c.connected, 3_000)) {
    const msg = serialize.cancel(h.key.pid, h.key.secret);
    await c.send(rng, rng.chance(0.3) ? mutate(rng, msg, 0) : msg);
    await c.until(() => c.closed, 1_000);
  }
  c.socket.destroy();
  await h.until(() => h.ready > 1, 2_000);
}

/** A startup, a query and a frame sent one byte per turn of the loop, stopping anywhere. */
export async function oneByteAtATime(h: Hostile, rng: Rng): Promise<void> {
  const bytes = Buffer.concat([serialize.startup({ user: HOSTILE_USER, database: 'postgres' }), q('select 1'), validFrame(rng)]);
  const stop = rng.int(bytes.length + 1);
  for (let i = 0; i < stop && !h.closed; i++) {
    h.write(bytes.subarray(i, i + 1));
    await nextTurn();
  }
  await h.until(() => h.ready > 1, rng.int(500));
}
