/** The effect of one statement, as the classifier reports it. */
import type { PinReason, Rule, StatementKind } from './rules.js';

export interface StatementEffect {
  kind: StatementKind;
  /** The id of the rule that decided (see rules.ts and docs/pinning.md). */
  rule: string;
  pinReason?: PinReason;
  /** For set / reset: the parameter, lower case, unquoted. */
  name?: string;
  /** For set: the value as SQL text, replayable as `SET name = value`. For discard/deallocate: `all` or the target. */
  value?: string;
}

export function effectOf(r: Rule, extra?: { name?: string; value?: string }): StatementEffect {
  const e: StatementEffect = { kind: r.kind, rule: r.id };
  if (r.pinReason) e.pinReason = r.pinReason;
  if (extra?.name !== undefined) e.name = extra.name;
  if (extra?.value !== undefined) e.value = extra.value;
  return e;
}
