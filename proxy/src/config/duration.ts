/** Durations in config: "500ms", "30s", "5m", "1h", "1.5s", or a number of seconds. Parsed to ms. */
import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export function parseDuration(v: string | number): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new Error(`invalid duration ${v}: must be a non-negative number of seconds`);
    return Math.round(v * 1000);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(v);
  if (!m) throw new Error(`invalid duration "${v}": use a number with a unit, like 500ms, 30s, 5m or 1h`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** A zod type for durations; the output is milliseconds. */
export const zDuration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
