import { classify, decide } from '../pinning/index.js';
import type { SqlDecision } from './context.js';

/** The classifier and the pinning filters, as the session needs them. */
export function sqlDecision(sql: string, filters: ReadonlySet<string>): SqlDecision {
  return decide(classify(sql), filters);
}
