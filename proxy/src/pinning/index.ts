export { classify, classifySlow, type Classification } from './classify.js';
export { decide, PINNING_FILTERS, type Decision, type PinningFilter, type SetOp } from './decide.js';
export type { StatementEffect } from './effect.js';
export { isFastPlain } from './fast-path.js';
export { PIN_REASONS, RULES, rulesMarkdown, type PinReason, type Rule, type StatementKind } from './rules.js';
export { tokenize, Tok, UnterminatedError, type Token } from './tokenizer.js';
