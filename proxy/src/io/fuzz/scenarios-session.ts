// Hostile scenarios after login: bad frames, mid-transaction and mid-COPY exits, oversized messages, slow readers.
import { setTimeout as sleep } from 'node:timers/promises';
import { serialize } from 'pg-protocol';
import { frames, int32s, q, queryOfLength, validFrame } from './frames.js';
import type { Hostile } from './hostile-client.js';
import { LIMIT } from './knobs.js';
import { mutate } from './mutate.js';
import type { Rng } from './random.js';

/** Logs in, then sends valid and mutated frames. */
export async function afterStartup(h: Hostile, rng: Rng): Promise<void> {
  if (!(await h.login(rng))) return;
  await h.send(rng, frames(rng, rng.between(1, 10), 0.5));
  await h.until(() => h.closed, rng.int(400));
}

/** What a client does inside its transaction before it leaves. */
const MID_TRANSACTION: ((h: Hostile, rng: Rng) => Promise<void>)[] = [
  (h, rng) => h.send(rng, frames(rng, rng.between(1, 8), 0.7)),
  // an extended batch without its Sync
  (h, rng) => h.send(rng, Buffer.concat([serialize.parse({ text: 'select $1::int' }), serialize.bind({ values: ['1'] }), serialize.execute({})])),
  (h, rng) => {
    const f = validFrame(rng);
    return h.send(rng, f.subarray(0, rng.int(f.length)));
  },
  // leaves while a statement runs
  async (h, rng) => {
    await h.send(rng, q('select pg_sleep(2)'));
    await sleep(rng.int(200));
  },
  (h, rng) => h.send(rng, rng.bytes(rng.between(1, 2048))),
];

/** Logs in, opens a transaction (maybe writes in it), then sends something bad or leaves mid-statement. */
export async function midTransaction(h: Hostile, rng: Rng): Promise<void> {
  if (!(await h.login(rng))) return;
  await h.send(rng, q('begin'));
  if (!(await h.until(() => h.ready > 1, 3_000))) return;
  if (rng.chance(0.6)) {
    await h.send(rng, q("insert into fuzz_hostile values ('t')"));
    await h.until(() => h.ready > 2, 3_000);
  }
  await MID_TRANSACTION[rng.int(MID_TRANSACTION.length)]!(h, rng);
  await h.until(() => h.closed, rng.int(300));
}

/** Starts a COPY FROM STDIN, sends rows (some mutated, maybe one at the size limit), ends it or not. */
export async function midCopy(h: Hostile, rng: Rng): Promise<void> {
  if (!(await h.login(rng))) return;
  await h.send(rng, q('copy fuzz_hostile(v) from stdin'));
  if (!(await h.until(() => h.copyIn > 0, 3_000))) return;
  const parts: Buffer[] = [];
  for (let i = rng.int(20); i > 0; i--) {
    const f = rng.chance(0.7) ? serialize.copyData(Buffer.from(`row ${i}\n`)) : serialize.copyData(rng.bytes(rng.int(4096)));
    parts.push(rng.chance(0.25) ? mutate(rng, f, 1) : f);
  }
  if (rng.chance(0.1)) {
    const len = rng.pick([LIMIT - 1, LIMIT, LIMIT + 1, 0x7fffffff]);
    parts.push(Buffer.concat([Buffer.from([0x64]), int32s(len), rng.bytes(Math.min(len - 4, rng.int(LIMIT + 10)))]));
  }
  const end = rng.int(5);
  if (end <= 1) parts.push(serialize.copyDone());
  else if (end === 2) parts.push(serialize.copyFail('fuzz'));
  else if (end === 3) parts.push(mutate(rng, serialize.copyDone(), 1));
  await h.send(rng, Buffer.concat(parts));
  await h.until(() => h.ready > 1, rng.int(1_000));
}

/** A startup, or after login a message, whose length is at, past or far past the limits. */
export async function oversized(h: Hostile, rng: Rng): Promise<void> {
  if (rng.chance(0.25)) {
    const len = rng.pick([9999, 10000, 10001, 65536, 0x3fffffff, 0x7fffffff, 16 << 20]);
    const body = rng.bytes(Math.min(len - 8, rng.int(12_000)));
    await h.send(rng, Buffer.concat([int32s(len, 196608), body]));
  } else {
    if (!(await h.login(rng))) return;
    const type = rng.pick(['Q', 'Q', 'P', 'B', 'd', 'X', 'S', 'p', 'F']);
    const len = rng.pick([LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 5, 0x3fffffff, 0x7fffffff, 16 << 20, 65535, 65536, 65537, 131072]);
    const msg =
      type === 'Q' && len <= LIMIT && rng.chance(0.6)
        ? queryOfLength(len)
        : Buffer.concat([Buffer.from(type, 'latin1'), int32s(len), rng.bytes(Math.min(len - 4, rng.int(2 * LIMIT)))]);
    await h.send(rng, msg);
  }
  await h.until(() => h.closed, rng.int(2_000));
}

/** Asks for a big result and stops reading for a while (and maybe for good). */
export async function slowReader(h: Hostile, rng: Rng): Promise<void> {
  if (!(await h.login(rng))) return;
  await h.send(rng, q(`select repeat('x', 100000) from generate_series(1, ${rng.between(5, 60)})`));
  h.socket.pause();
  await sleep(rng.between(10, 600));
  if (rng.chance(0.5)) {
    h.socket.resume();
    if (await h.until(() => h.ready > 1, 5_000)) {
      await h.send(rng, q('select 1'));
      await h.until(() => h.ready > 2, 3_000);
    }
  }
}

/** Pipelines many queries in one write and leaves without reading the answers. */
export async function pipelineAndVanish(h: Hostile, rng: Rng): Promise<void> {
  if (!(await h.login(rng))) return;
  const batch: Buffer[] = [];
  for (let i = rng.between(10, 300); i > 0; i--) {
    const r = rng.int(3);
    if (r === 0) batch.push(q('select 1'));
    else if (r === 1) batch.push(q("select repeat('y', 5000)"));
    else batch.push(serialize.parse({ text: 'select 2' }), serialize.bind({}), serialize.execute({}), serialize.sync());
  }
  h.write(Buffer.concat(batch));
  if (rng.chance(0.5)) await sleep(rng.int(5));
}
