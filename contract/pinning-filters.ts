/** Pinning filters (RDS Proxy's names), each waiving one class of pinning: the one list the proxy config schema and the CRD use. */
export const PINNING_FILTERS = ['EXCLUDE_VARIABLE_SETS'] as const;
/** EXCLUDE_VARIABLE_SETS: session SET/RESET (and literal set_config(…, false)) are tracked and replayed instead of pinning. */
export type PinningFilter = (typeof PINNING_FILTERS)[number];
