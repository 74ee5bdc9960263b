/**
 * Durations in config: "500ms", "30s", "5m", "1h", "1.5s", or a number of seconds (a bare "30" too,
 * as flags arrive as strings). Parsed to whole milliseconds.
 */
import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Node timers cannot wait longer than this (about 24.8 days); a longer one would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export class DurationError extends Error {
  override name = 'DurationError';
}

export function parseDuration(v: string | number): number {
  const ms = typeof v === 'number' ? v * 1000 : fromText(v);
  if (!Number.isFinite(ms) || ms < 0) throw new DurationError(`invalid duration ${JSON.stringify(v)}: must be zero or more`);
  if (ms > MAX_DURATION_MS) throw new DurationError(`invalid duration ${JSON.stringify(v)}: must be at most 24 days`);
  return Math.round(ms);
}

function fromText(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) throw new DurationError(`invalid duration "${v}": use a number with a unit, like 500ms, 30s, 5m or 1h`);
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}

/** A zod type for durations; the output is milliseconds. */
export const zDuration = z
  .union([z.string(), z.number()], { error: 'expected a duration such as 500ms, 30s, 5m, 1h or a number of seconds' })
  .transform((v, ctx) => {
    try {
      return parseDuration(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
