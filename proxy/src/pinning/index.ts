export { classify, type Classification, type StatementEffect } from './classify.js';
export { decide, type Decision, type PinningFilter, type SetOp } from './decide.js';
export { ANYWHERE_RULES, LEAD_RULES, type PinReason, type StatementKind } from './rules.js';
