// Builders of frontend protocol messages for the hostile clients: valid frames, startups, batches, sizes.
import { serialize } from 'pg-protocol';
import { HOSTILE_USER } from './knobs.js';
import { mutate } from './mutate.js';
import type { Rng } from './random.js';

const SQL = [
  'select 1',
  'begin',
  'commit',
  'rollback',
  "insert into fuzz_hostile values ('h')",
  'select pg_sleep(0.005)',
  "select repeat('x', 70000)",
  'select * from generate_series(1, 2000)',
  'copy fuzz_hostile(v) from stdin',
  'select $1::text',
  'show server_version',
  'select 1; select 2',
];

/** Startup protocol codes: 3.0, 3.1, 2.0, SSLRequest, CancelRequest, GSSENCRequest, 0, -1 and 4.0. */
export const PROTOCOLS = [196608, 196609, 131072, 80877103, 80877102, 80877104, 0, -1, 0x00040000];

export const q = (sql: string) => serialize.query(sql);

/** Big-endian int32s, as the protocol writes them. */
export function int32s(...vs: number[]): Buffer {
  const b = Buffer.alloc(4 * vs.length);
  vs.forEach((v, i) => b.writeInt32BE(v | 0, 4 * i));
  return b;
}

/** A StartupMessage, mostly as the hostile user, now and then as a role that does not exist. */
export function startupFrame(rng: Rng): Buffer {
  const params: Record<string, string> = { user: rng.chance(0.85) ? HOSTILE_USER : `fuzz_${rng.int(4)}`, database: 'postgres' };
  if (rng.chance(0.3)) params['application_name'] = `fz${rng.int(100)}`;
  return serialize.startup(params);
}

const stmt = (rng: Rng) => (rng.chance(0.3) ? `s${rng.int(3)}` : '');

/** The valid frames, picked uniformly (so a Query, and a Sync, come twice as often as the rest). */
const VALID: ((rng: Rng) => Buffer)[] = [
  (rng) => serialize.query(rng.pick(SQL)),
  (rng) => serialize.query(rng.pick(SQL)),
  (rng) => serialize.parse({ name: stmt(rng), text: rng.pick(SQL) }),
  (rng) => serialize.bind({ statement: stmt(rng), portal: rng.chance(0.2) ? 'p' : '', values: rng.chance(0.5) ? ['x'] : [] }),
  (rng) => serialize.describe({ type: rng.chance(0.5) ? 'S' : 'P', name: '' }),
  (rng) => serialize.execute({ rows: rng.int(3) }),
  () => serialize.sync(),
  () => serialize.sync(),
  () => serialize.flush(),
  (rng) => serialize.close({ type: 'S', name: `s${rng.int(3)}` }),
  (rng) => serialize.copyData(rng.bytes(rng.int(300))),
  (rng) => (rng.chance(0.5) ? serialize.copyDone() : serialize.copyFail('fuzz')),
  () =>
    Buffer.concat([
      serialize.parse({ text: 'select $1::text' }),
      serialize.bind({ values: ['v'] }),
      serialize.describe({ type: 'P', name: '' }),
      serialize.execute({}),
      serialize.sync(),
    ]),
  (rng) => (rng.chance(0.2) ? serialize.end() : serialize.password('nope')),
];

/** One valid frontend message (or a small valid batch). serialize's own buffers are never changed in place. */
export function validFrame(rng: Rng): Buffer {
  return VALID[rng.int(VALID.length)]!(rng);
}

/** `n` frontend messages, each mutated with probability `p`. */
export function frames(rng: Rng, n: number, p: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, () => (rng.chance(p) ? mutate(rng, validFrame(rng), 1) : validFrame(rng))));
}

/** A valid Query whose length field is exactly `len` (a long comment pads it). */
export function queryOfLength(len: number): Buffer {
  const text = 'select 1 --';
  const b = Buffer.alloc(1 + len, 0x78);
  b[0] = 0x51;
  b.writeInt32BE(len, 1);
  b.write(text, 5, 'latin1');
  b[len] = 0;
  return b;
}
