/**
 * THE RULE TABLE. Each rule has an id (stable: it appears in logs and /status), what it matches, the
 * statement kind it yields, and — when it pins — the reason, which is also the value of the metric
 * label dbproxy_session_pins_total{reason}. Leading-keyword rules are tried in order; the first match
 * wins. docs/pinning.md lists every rule (a unit test keeps the two in step).
 */
export type PinReason =
  | 'advisory_lock'
  | 'listen'
  | 'cursor_with_hold'
  | 'temp_table'
  | 'sql_prepare'
  | 'set_role'
  | 'session_authorization'
  | 'load'
  | 'set_config'
  | 'variable_set'
  | 'unknown';

export type StatementKind =
  | 'plain'
  | 'set'
  | 'set_local'
  | 'reset'
  | 'reset_all'
  | 'set_config'
  | 'set_role'
  | 'session_authorization'
  | 'prepare'
  | 'execute'
  | 'deallocate'
  | 'discard'
  | 'listen'
  | 'unlisten'
  | 'advisory_lock'
  | 'temp_object'
  | 'declare_with_hold'
  | 'declare'
  | 'load'
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'savepoint'
  | 'copy'
  | 'unknown';

export interface LeadRule {
  id: string;
  description: string;
  /** Leading keywords (lower case); `*` matches any one word. */
  lead: string[];
  kind: StatementKind;
  pinReason?: PinReason;
  /** Extra condition on the statement: its lower-cased words and its string literals, in order. */
  when?: (s: { words: string[]; strings: string[] }) => boolean;
}

const hasSeq = (a: string, b: string) => (s: { words: string[] }) => s.words.some((w, i) => w === a && s.words[i + 1] === b);

const SESSION_AFFECTING_BODY = /\b(set_config|pg_advisory_lock|pg_try_advisory_lock|create\s+(temp|temporary)\b|set\s+(role|session)|listen|prepare\s+\w+\s+as)\b/i;

export const LEAD_RULES: LeadRule[] = [
  { id: 'txn-begin', description: 'BEGIN / START TRANSACTION', lead: ['begin'], kind: 'begin' },
  { id: 'txn-start', description: 'START TRANSACTION', lead: ['start', 'transaction'], kind: 'begin' },
  { id: 'txn-commit-prepared', description: 'COMMIT PREPARED (two-phase)', lead: ['commit', 'prepared'], kind: 'plain' },
  { id: 'txn-commit', description: 'COMMIT', lead: ['commit'], kind: 'commit' },
  { id: 'txn-end', description: 'END', lead: ['end'], kind: 'commit' },
  { id: 'txn-rollback-prepared', description: 'ROLLBACK PREPARED (two-phase)', lead: ['rollback', 'prepared'], kind: 'plain' },
  { id: 'txn-rollback-to', description: 'ROLLBACK TO SAVEPOINT', lead: ['rollback', 'to'], kind: 'savepoint' },
  { id: 'txn-rollback', description: 'ROLLBACK', lead: ['rollback'], kind: 'rollback' },
  { id: 'txn-abort', description: 'ABORT', lead: ['abort'], kind: 'rollback' },
  { id: 'txn-savepoint', description: 'SAVEPOINT', lead: ['savepoint'], kind: 'savepoint' },
  { id: 'txn-release', description: 'RELEASE SAVEPOINT', lead: ['release'], kind: 'savepoint' },
  { id: 'txn-prepare', description: 'PREPARE TRANSACTION (ends the transaction)', lead: ['prepare', 'transaction'], kind: 'commit' },
  { id: 'set-local', description: 'SET LOCAL: lasts until the transaction ends, nothing to carry', lead: ['set', 'local'], kind: 'set_local' },
  { id: 'set-session-authorization', description: 'SET SESSION AUTHORIZATION changes who the session is', lead: ['set', 'session', 'authorization'], kind: 'session_authorization', pinReason: 'session_authorization' },
  { id: 'set-session-characteristics', description: 'SET SESSION CHARACTERISTICS: session transaction defaults', lead: ['set', 'session', 'characteristics'], kind: 'unknown', pinReason: 'unknown' },
  { id: 'set-role', description: 'SET ROLE changes the privileges of the session', lead: ['set', 'role'], kind: 'set_role', pinReason: 'set_role' },
  { id: 'set-session-role', description: 'SET SESSION ROLE', lead: ['set', 'session', 'role'], kind: 'set_role', pinReason: 'set_role' },
  { id: 'set-transaction', description: 'SET TRANSACTION: this transaction only', lead: ['set', 'transaction'], kind: 'set_local' },
  { id: 'set-constraints', description: 'SET CONSTRAINTS: this transaction only', lead: ['set', 'constraints'], kind: 'set_local' },
  { id: 'set-session', description: 'SET SESSION name = value: tracked and replayed (or pins without EXCLUDE_VARIABLE_SETS)', lead: ['set', 'session'], kind: 'set', pinReason: 'variable_set' },
  { id: 'set', description: 'SET name = value: tracked and replayed (or pins without EXCLUDE_VARIABLE_SETS)', lead: ['set'], kind: 'set', pinReason: 'variable_set' },
  { id: 'reset-all', description: 'RESET ALL', lead: ['reset', 'all'], kind: 'reset_all', pinReason: 'variable_set' },
  { id: 'reset-role', description: 'RESET ROLE', lead: ['reset', 'role'], kind: 'set_role', pinReason: 'set_role' },
  { id: 'reset-session-authorization', description: 'RESET SESSION AUTHORIZATION', lead: ['reset', 'session'], kind: 'session_authorization', pinReason: 'session_authorization' },
  { id: 'reset', description: 'RESET name', lead: ['reset'], kind: 'reset', pinReason: 'variable_set' },
  { id: 'discard', description: 'DISCARD ALL | PLANS | SEQUENCES | TEMP: resets state, nothing left to carry', lead: ['discard'], kind: 'discard' },
  { id: 'sql-prepare', description: 'SQL-level PREPARE: the statement lives in the session', lead: ['prepare'], kind: 'prepare', pinReason: 'sql_prepare' },
  { id: 'sql-execute', description: 'EXECUTE of an SQL-level prepared statement', lead: ['execute'], kind: 'execute' },
  { id: 'sql-deallocate', description: 'DEALLOCATE [PREPARE] name | ALL', lead: ['deallocate'], kind: 'deallocate' },
  { id: 'listen', description: 'LISTEN: notifications are delivered to this session', lead: ['listen'], kind: 'listen', pinReason: 'listen' },
  { id: 'unlisten', description: 'UNLISTEN', lead: ['unlisten'], kind: 'unlisten' },
  { id: 'load', description: 'LOAD: a shared library stays loaded in the backend', lead: ['load'], kind: 'load', pinReason: 'load' },
  { id: 'declare-with-hold', description: 'DECLARE … WITH HOLD: the cursor outlives the transaction', lead: ['declare'], kind: 'declare_with_hold', pinReason: 'cursor_with_hold', when: hasSeq('with', 'hold') },
  { id: 'declare', description: 'DECLARE cursor without HOLD: lives inside the transaction', lead: ['declare'], kind: 'declare' },
  { id: 'create-temp', description: 'CREATE TEMP/TEMPORARY TABLE, SEQUENCE or VIEW', lead: ['create'], kind: 'temp_object', pinReason: 'temp_table', when: (s) => s.words.includes('temp') || s.words.includes('temporary') || s.words.includes('pg_temp') },
  { id: 'copy', description: 'COPY', lead: ['copy'], kind: 'copy' },
  { id: 'do-session', description: 'DO block whose body visibly changes session state', lead: ['do'], kind: 'unknown', pinReason: 'unknown', when: (s) => s.strings.some((b) => SESSION_AFFECTING_BODY.test(b)) },
  { id: 'do-opaque', description: 'DO block with no visible session change (its effects cannot be inspected)', lead: ['do'], kind: 'plain' },
];

/** Functions whose call anywhere in a statement pins: session-level advisory locks. */
export const ADVISORY_LOCK_FUNCTIONS = new Set([
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
]);

/** Rules that look inside any statement (function calls, SELECT … INTO TEMP). */
export const ANYWHERE_RULES = [
  { id: 'advisory-lock', description: 'pg_advisory_lock / pg_try_advisory_lock (_shared): session-level lock (the _xact_ ones do not pin)', kind: 'advisory_lock', pinReason: 'advisory_lock' },
  { id: 'set-config-session', description: 'set_config(name, value, false) with literal name and value: tracked like SET', kind: 'set', pinReason: 'variable_set' },
  { id: 'set-config-dynamic', description: 'set_config(…, false) with computed arguments: cannot be replayed', kind: 'set_config', pinReason: 'set_config' },
  { id: 'set-config-local', description: 'set_config(…, true): transaction-local', kind: 'set_local' },
  { id: 'select-into-temp', description: 'SELECT … INTO TEMP table', kind: 'temp_object', pinReason: 'temp_table' },
  { id: 'unterminated', description: 'unterminated quote or comment: cannot be classified', kind: 'unknown', pinReason: 'unknown' },
] as const;

/** Words inside a DO body that mean it changes session state. */
