/**
 * From a classification and the pinning filters in force to what the proxy does: pin (with the
 * reason), track SET/RESET for replay, or nothing. SET LOCAL never pins nor tracks.
 */
import type { Classification } from './classify.js';
import type { PinReason } from './rules.js';

export type PinningFilter = 'EXCLUDE_VARIABLE_SETS';

export interface SetOp {
  op: 'set' | 'reset' | 'reset_all';
  name?: string;
  value?: string;
}

export interface Decision {
  pin?: { reason: PinReason; rule: string };
  track: SetOp[];
  discardAll?: boolean;
  deallocateAll?: boolean;
  endsTransaction?: boolean;
}

const NOTHING: Decision = Object.freeze({ track: Object.freeze([]) as unknown as SetOp[] });

export function decide(c: Classification, filters: ReadonlySet<string>): Decision {
  if (c.fast) return NOTHING;
  const waiveSets = filters.has('EXCLUDE_VARIABLE_SETS');
  const d: Decision = { track: [] };
  for (const s of c.statements) {
    const isVariable = s.kind === 'set' || s.kind === 'reset' || s.kind === 'reset_all';
    if (isVariable && waiveSets) {
      if (s.kind === 'set') d.track.push({ op: 'set', name: s.name!, value: s.value! });
      else if (s.kind === 'reset') d.track.push({ op: 'reset', name: s.name! });
      else d.track.push({ op: 'reset_all' });
    } else if (s.pinReason && !d.pin) {
      d.pin = { reason: s.pinReason, rule: s.rule };
    }
    if (s.kind === 'discard' && s.name === 'all') d.discardAll = true;
    if (s.kind === 'deallocate' && s.name === 'all') d.deallocateAll = true;
    if (s.kind === 'commit' || s.kind === 'rollback') d.endsTransaction = true;
  }
  return d.track.length === 0 && !d.pin && !d.discardAll && !d.deallocateAll && !d.endsTransaction ? NOTHING : d;
}
