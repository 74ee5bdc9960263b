// Hostile scenarios for a proxy with SCRAM clients and its limits: stalls before and during SASL, garbage SASL, the borrow queue.
import { setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import { ScramClient } from '../../auth/scram.js';
import { frames, q } from './frames.js';
import type { Hostile } from './hostile-client.js';
import { hostileAuth } from './hostile-client.js';
import { HOSTILE_USER } from './knobs.js';
import { mutate } from './mutate.js';
import type { Rng } from './random.js';

/** Connects and sends nothing, or a piece of a startup, then waits (the proxy's startup timeout ends it). */
export async function stallStartup(h: Hostile, rng: Rng): Promise<void> {
  const startup = serialize.startup({ user: HOSTILE_USER, database: 'postgres' });
  const r = rng.int(3);
  if (r === 1) h.write(startup.subarray(0, rng.between(1, startup.length - 1)));
  else if (r === 2) {
    h.expectSslAnswer();
    h.write(serialize.requestSsl());
  }
  await h.until(() => h.closed, rng.between(200, 6_000));
}

/** What a client does once it was asked for SASL, instead of logging in. */
const MID_SASL: ((h: Hostile, rng: Rng) => Promise<void>)[] = [
  // stalls at the request
  async (h, rng) => void (await h.until(() => h.closed, rng.between(200, 6_000))),
  // garbage, or a mutated SASLInitialResponse
  (h, rng) => h.send(rng, rng.bytes(rng.between(1, 600))),
  (h, rng) => h.send(rng, mutate(rng, serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', new ScramClient('x').clientFirst()), 1)),
  // an unknown mechanism
  (h, rng) => h.send(rng, serialize.sendSASLInitialResponseMessage(rng.pick(['SCRAM-SHA-1', 'PLAIN', '']), 'n,,n=,r=abc')),
  // a valid first message, then a stall, garbage, a mutated final or a wrong password
  async (h, rng) => {
    const c = new ScramClient(rng.chance(0.5) ? 'wrong-password' : (hostileAuth.password ?? 'x'));
    await h.send(rng, serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', c.clientFirst()));
    if (!(await h.until(() => h.authCode === 11, 2_000))) return;
    const what = rng.int(4);
    if (what === 0) return void (await h.until(() => h.closed, rng.between(200, 6_000)));
    if (what === 1) return h.send(rng, serialize.password(rng.ascii(rng.int(300))));
    const final = serialize.sendSCRAMClientFinalMessage(c.handleServerFirst(h.authData.toString('utf8')));
    await h.send(rng, what === 2 ? mutate(rng, final, 1) : final);
    await h.until(() => h.closed || h.ready > 0, 1_000);
  },
];

/** Starts a login as the hostile user and misbehaves in its SASL exchange. */
export async function midSasl(h: Hostile, rng: Rng): Promise<void> {
  h.autoAuth = false;
  await h.send(rng, serialize.startup({ user: HOSTILE_USER, database: 'postgres' }));
  if (!(await h.until(() => h.authCode === 10, 3_000))) return;
  await MID_SASL[rng.int(MID_SASL.length)]!(h, rng);
}

/**
 * Logs in and, while its first request may still wait for a database connection (the hostile
 * pool is small and others hold it), sends more: mutated frames, or a flood of queries it does not
 * read the answers of (past the queue's cap).
 */
export async function borrowQueue(h: Hostile, rng: Rng): Promise<void> {
  if (!(await h.login(rng))) return;
  h.write(q(`select pg_sleep(0.${rng.between(1, 5)})`));
  if (rng.chance(0.5)) {
    await h.send(rng, frames(rng, rng.between(1, 6), 0.8));
  } else {
    h.socket.pause();
    const flood = Buffer.concat(Array.from({ length: 2_000 }, () => q(`select ${rng.int(1000)} -- ${'x'.repeat(rng.int(900))}`)));
    h.write(flood);
    await sleep(rng.between(50, 1_500));
  }
  await h.until(() => h.closed, rng.int(500));
}
