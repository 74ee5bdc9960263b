// Mutations of frontend protocol messages: flipped bits and bytes, bad types, lying lengths, cuts, splices.
import { LIMIT } from './knobs.js';
import type { Rng } from './random.js';

/** Frontend message types, for a mutated type byte that is still a real one. */
const TYPES = 'QPBEDSHCFdcfXp';

function interestingLength(rng: Rng, actual: number): number {
  return rng.pick([
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    9,
    actual - 1,
    actual + 1,
    actual + rng.int(64),
    255,
    256,
    9999,
    10000,
    10001,
    65535,
    65536,
    LIMIT - 1,
    LIMIT,
    LIMIT + 1,
    LIMIT + 4,
    0x3fffffff,
    0x40000000,
    0x7fffffff,
    -1,
    -4,
    -0x80000000,
    rng.u32() | 0,
  ]);
}

type Mutation = (rng: Rng, b: Buffer, lenAt: 0 | 1) => Buffer;

/** The mutations, picked uniformly; each returns the changed message (sometimes the same buffer). */
const MUTATIONS: Mutation[] = [
  (rng, b) => {
    if (b.length) {
      const at = rng.int(b.length);
      b[at] = b[at]! ^ (1 << rng.int(8));
    }
    return b;
  },
  (rng, b) => {
    if (b.length) b[rng.int(b.length)] = rng.int(256);
    return b;
  },
  (rng, b, lenAt) => {
    if (b.length) b[0] = lenAt === 1 && rng.chance(0.5) ? TYPES.charCodeAt(rng.int(TYPES.length)) : rng.int(256);
    return b;
  },
  (rng, b, lenAt) => {
    if (b.length >= lenAt + 4) b.writeInt32BE(interestingLength(rng, b.length - lenAt), lenAt);
    return b;
  },
  (rng, b) => b.subarray(0, rng.int(b.length + 1)),
  (rng, b) => {
    const at = rng.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), rng.bytes(rng.between(1, 64)), b.subarray(at)]);
  },
  (rng, b) => {
    const at = rng.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.between(1, 16)))]);
  },
  (_rng, b) => Buffer.concat([b, b]),
  (rng, b, lenAt) => {
    const body = rng.bytes(rng.int(512));
    const out = Buffer.concat([b.subarray(0, lenAt + 4), body]);
    if (rng.chance(0.5) && out.length >= lenAt + 4) out.writeInt32BE(body.length + 4, lenAt);
    return out;
  },
];

/** A copy of `frame` with 1–3 mutations; the length field is at `lenAt` (0 startup, 1 typed). */
export function mutate(rng: Rng, frame: Buffer, lenAt: 0 | 1): Buffer {
  let b: Buffer = Buffer.from(frame);
  for (let i = rng.between(1, 3); i > 0; i--) b = MUTATIONS[rng.int(MUTATIONS.length)]!(rng, b, lenAt);
  return b;
}
