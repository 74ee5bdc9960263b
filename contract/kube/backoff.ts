/**
 * Exponential backoff: base × 2^(failures−1), capped at max. `jitter` (0..1) spreads retries of many
 * clients so they do not hit the apiserver in lock-step; pass the random draw in to keep it pure.
 */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, jitter = 0, random = 0.5): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 30); // 2^30 already exceeds any sane cap; avoids Infinity
  const raw = Math.min(baseMs * 2 ** exp, maxMs);
  const spread = raw * jitter * (random * 2 - 1);
  return Math.max(0, Math.round(Math.min(raw + spread, maxMs)));
}

/** A value in [base·(1−j), base·(1+j)]: e.g. the watch timeout, so watches of many pods do not align. */
export function jittered(baseMs: number, jitter: number, random: number): number {
  return Math.round(baseMs * (1 + jitter * (random * 2 - 1)));
}
