/**
 * From a classification and the pinning filters in force to what the proxy does: pin (with the
 * reason and rule), track SET/RESET for replay, or nothing. SET LOCAL never pins nor tracks.
 */
import type { Classification } from './classify.js';
import type { PinReason } from './rules.js';
import type { PinningFilter } from '../../../contract/pinning-filters.js';

export interface SetOp {
  op: 'set' | 'reset' | 'reset_all';
  name?: string;
  value?: string;
}

export interface Decision {
  /** The first statement that pins decides the reason and rule. */
  pin?: { reason: PinReason; rule: string };
  /** SET/RESET to record (in statement order) once the statement or its transaction commits. */
  track: SetOp[];
  /** The last transaction-control statement of the string. */
  txn?: 'begin' | 'commit' | 'rollback';
  /** DISCARD ALL: every prepared statement, setting and temp object is gone. */
  discardAll?: boolean;
  /** DEALLOCATE ALL (or DEALLOCATE PREPARE ALL). */
  deallocateAll?: boolean;
  /** The string is one `DEALLOCATE [PREPARE] name`: the name (folded to lower case unless quoted). */
  deallocate?: string;
  /** Ends a transaction block: COMMIT/END/ROLLBACK/ABORT/PREPARE TRANSACTION. */
  endsTransaction?: boolean;
}

const NOTHING: Decision = Object.freeze({ track: Object.freeze([]) as unknown as SetOp[] });

/**
 * `filters` is a set of filter names; unknown names are ignored (the config schema validates them).
 * The result may be shared and frozen: do not mutate it.
 */
export function decide(c: Classification, filters: ReadonlySet<PinningFilter> | ReadonlySet<string>): Decision {
  if (c.fast) return NOTHING;
  const waiveSets = (filters as ReadonlySet<string>).has('EXCLUDE_VARIABLE_SETS');
  const d: Decision = { track: [] };
  for (const s of c.statements) {
    const isVariable = s.kind === 'set' || s.kind === 'reset' || s.kind === 'reset_all';
    if (isVariable && waiveSets) d.track.push(setOp(s));
    else if (s.pinReason && !d.pin) d.pin = { reason: s.pinReason, rule: s.rule };
    if (s.kind === 'discard' && s.value === 'all') d.discardAll = true;
    if (s.kind === 'deallocate' && s.value === 'all') d.deallocateAll = true;
    else if (s.kind === 'deallocate' && c.statements.length === 1 && s.value) d.deallocate = s.value;
    if (s.kind === 'begin' || s.kind === 'commit' || s.kind === 'rollback') d.txn = s.kind;
    if (s.kind === 'commit' || s.kind === 'rollback') d.endsTransaction = true;
  }
  return d.track.length === 0 && !d.pin && !d.txn && !d.discardAll && !d.deallocateAll && !d.deallocate ? NOTHING : d;
}

function setOp(s: { kind: string; name?: string; value?: string }): SetOp {
  if (s.kind === 'set') return { op: 'set', name: s.name!, value: s.value! };
  if (s.kind === 'reset') return { op: 'reset', name: s.name! };
  return { op: 'reset_all' };
}
