/** The pinning classifier's public face: classify, decide, the rule table, the tokenizer. */
export { classify, classifySlow, type Classification } from './classify.js';
export { decide, type Decision, type SetOp } from './decide.js';
export { PINNING_FILTERS, type PinningFilter } from '../../../contract/pinning-filters.js';
export type { StatementEffect } from './effect.js';
export { isFastPlain } from './fast-path.js';
export { PIN_REASONS, RULES, rulesMarkdown, type PinReason, type Rule, type StatementKind } from './rules.js';
export { tokenize, Tok, UnterminatedError, type Token } from './tokenizer.js';
