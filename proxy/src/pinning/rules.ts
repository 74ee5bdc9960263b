/**
 * THE RULE TABLE, as data. Each rule has a stable id (it appears in logs, /status and the effect of a
 * statement), what it matches, the statement kind it yields and, when it pins, the reason — which is
 * also the value of the metric label dbproxy_session_pins_total{reason}. Leading-keyword rules are
 * tried in order and the first match wins; call rules look inside any statement. docs/pinning.md
 * carries the table rendered by rulesMarkdown() (a unit test keeps the two identical).
 */
export const PIN_REASONS = [
  'advisory_lock',
  'listen',
  'cursor_with_hold',
  'temp_table',
  'sql_prepare',
  'set_role',
  'session_authorization',
  'load',
  'set_config',
  'variable_set',
  'unknown',
] as const;
export type PinReason = (typeof PIN_REASONS)[number];

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

/** A statement whose leading keywords are `lead`, and optionally more. */
export interface LeadMatch {
  /** Leading keywords, lower case. */
  lead: readonly string[];
  /** These words, consecutively, anywhere in the statement (outside literals). */
  seq?: readonly string[];
  /** One of these words before the first `AS` or `(` (where CREATE says what it creates). */
  head?: readonly string[];
  /** A string literal of the statement (a DO body) matches this. */
  body?: RegExp;
}

/** A call of one of these functions anywhere in a statement; `form` narrows set_config calls. */
export interface CallMatch {
  call: readonly string[];
  form?: 'session-literal' | 'session-computed' | 'local';
}

/** SET name …, RESET name or set_config('name', …, false) for one of these parameter names. */
export interface ParamMatch {
  param: readonly string[];
}

/** Decided by the classifier's own logic, described in words. */
export interface SpecialMatch {
  special: string;
}

export type Match = LeadMatch | CallMatch | ParamMatch | SpecialMatch;

export interface Rule {
  id: string;
  description: string;
  match: Match;
  kind: StatementKind;
  pinReason?: PinReason;
}

/**
 * Words in a DO body that mean it visibly changes session state. A statement-leading SET/RESET (after
 * `;`, BEGIN, THEN, ELSE, LOOP or a quote for EXECUTE '…') counts; `UPDATE t SET` and SET LOCAL do not.
 */
const SESSION_BODY =
  /set_config|pg_(?:try_)?advisory_lock(?:_shared)?\b|\btemp(?:orary)?\s+(?:table|sequence|view)\b|pg_temp\s*\.|\blisten\b|\bload\b|\bprepare\b|\bwith\s+hold\b|\bsession\s+authorization\b|(?:^|[;']|\bbegin|\bthen|\belse|\bloop)\s*(?:re)?set\s+(?!local\b)/i;

const TEMP_HEAD = ['temp', 'temporary', 'pg_temp'] as const;

export const RULES: readonly Rule[] = [
  // Settled before any rule looks at the statement.
  {
    id: 'fast-path',
    description: 'A single SELECT/INSERT/UPDATE/DELETE/WITH/… that mentions no session-affecting function: settled without tokenizing',
    match: { special: 'first keyword + one scan' },
    kind: 'plain',
  },
  { id: 'empty', description: 'Empty query string (only whitespace, comments or `;`)', match: { special: 'no tokens' }, kind: 'plain' },
  {
    id: 'unterminated',
    description: 'Unterminated quote, dollar quote or comment: cannot be classified',
    match: { special: 'tokenizer error' },
    kind: 'unknown',
    pinReason: 'unknown',
  },
  {
    id: 'unicode-uescape',
    description: "U&'…' UESCAPE '…': a custom escape character could hide a name",
    match: { special: 'UESCAPE anywhere' },
    kind: 'unknown',
    pinReason: 'unknown',
  },
  {
    id: 'internal-error',
    description: 'The classifier failed on this input (a bug): pin rather than guess',
    match: { special: 'exception' },
    kind: 'unknown',
    pinReason: 'unknown',
  },
  // Transaction control.
  { id: 'txn-begin', description: 'BEGIN [WORK | TRANSACTION] [modes]', match: { lead: ['begin'] }, kind: 'begin' },
  { id: 'txn-start', description: 'START TRANSACTION [modes]', match: { lead: ['start', 'transaction'] }, kind: 'begin' },
  {
    id: 'txn-commit-prepared',
    description: 'COMMIT PREPARED (two-phase): acts on a detached transaction',
    match: { lead: ['commit', 'prepared'] },
    kind: 'plain',
  },
  { id: 'txn-commit', description: 'COMMIT [AND [NO] CHAIN]', match: { lead: ['commit'] }, kind: 'commit' },
  { id: 'txn-end', description: 'END', match: { lead: ['end'] }, kind: 'commit' },
  { id: 'txn-rollback-prepared', description: 'ROLLBACK PREPARED (two-phase)', match: { lead: ['rollback', 'prepared'] }, kind: 'plain' },
  { id: 'txn-rollback-to', description: 'ROLLBACK TO [SAVEPOINT] name', match: { lead: ['rollback', 'to'] }, kind: 'savepoint' },
  { id: 'txn-rollback', description: 'ROLLBACK', match: { lead: ['rollback'] }, kind: 'rollback' },
  { id: 'txn-abort', description: 'ABORT', match: { lead: ['abort'] }, kind: 'rollback' },
  { id: 'txn-savepoint', description: 'SAVEPOINT name', match: { lead: ['savepoint'] }, kind: 'savepoint' },
  { id: 'txn-release', description: 'RELEASE [SAVEPOINT] name', match: { lead: ['release'] }, kind: 'savepoint' },
  {
    id: 'txn-prepare',
    description: 'PREPARE TRANSACTION: ends the transaction (it is detached from the session)',
    match: { lead: ['prepare', 'transaction'] },
    kind: 'commit',
  },
  // SET and RESET.
  { id: 'set-local', description: 'SET LOCAL: lasts until the transaction ends, nothing to carry', match: { lead: ['set', 'local'] }, kind: 'set_local' },
  {
    id: 'set-session-authorization',
    description: 'SET SESSION AUTHORIZATION changes who the session is',
    match: { lead: ['set', 'session', 'authorization'] },
    kind: 'session_authorization',
    pinReason: 'session_authorization',
  },
  {
    id: 'set-session-characteristics',
    description: 'SET SESSION CHARACTERISTICS AS TRANSACTION <one mode>: tracked as default_transaction_isolation / _read_only / _deferrable',
    match: { lead: ['set', 'session', 'characteristics'] },
    kind: 'set',
    pinReason: 'variable_set',
  },
  { id: 'set-session-role', description: 'SET SESSION ROLE', match: { lead: ['set', 'session', 'role'] }, kind: 'set_role', pinReason: 'set_role' },
  { id: 'set-role', description: 'SET ROLE changes the privileges of the session', match: { lead: ['set', 'role'] }, kind: 'set_role', pinReason: 'set_role' },
  { id: 'set-transaction', description: 'SET TRANSACTION: this transaction only', match: { lead: ['set', 'transaction'] }, kind: 'set_local' },
  { id: 'set-constraints', description: 'SET CONSTRAINTS: this transaction only', match: { lead: ['set', 'constraints'] }, kind: 'set_local' },
  {
    id: 'set-session',
    description: 'SET SESSION name {TO|=} value: tracked and replayed (pins without EXCLUDE_VARIABLE_SETS)',
    match: { lead: ['set', 'session'] },
    kind: 'set',
    pinReason: 'variable_set',
  },
  {
    id: 'set',
    description:
      'SET name {TO|=} value, SET TIME ZONE, SET NAMES, SET SCHEMA, SET XML OPTION: tracked and replayed (pins without EXCLUDE_VARIABLE_SETS); `= DEFAULT` is a RESET',
    match: { lead: ['set'] },
    kind: 'set',
    pinReason: 'variable_set',
  },
  {
    id: 'reset-all',
    description: 'RESET ALL: tracked (pins without EXCLUDE_VARIABLE_SETS)',
    match: { lead: ['reset', 'all'] },
    kind: 'reset_all',
    pinReason: 'variable_set',
  },
  { id: 'reset-role', description: 'RESET ROLE', match: { lead: ['reset', 'role'] }, kind: 'set_role', pinReason: 'set_role' },
  {
    id: 'reset-session-authorization',
    description: 'RESET SESSION AUTHORIZATION',
    match: { lead: ['reset', 'session', 'authorization'] },
    kind: 'session_authorization',
    pinReason: 'session_authorization',
  },
  {
    id: 'reset-transaction',
    description: 'RESET TRANSACTION ISOLATION LEVEL: this transaction only',
    match: { lead: ['reset', 'transaction'] },
    kind: 'set_local',
  },
  {
    id: 'reset',
    description: 'RESET name: tracked (pins without EXCLUDE_VARIABLE_SETS)',
    match: { lead: ['reset'] },
    kind: 'reset',
    pinReason: 'variable_set',
  },
  {
    id: 'set-unparsed',
    description: 'A SET/RESET whose name or value the classifier cannot take apart for replay',
    match: { special: 'SET/RESET not understood' },
    kind: 'unknown',
    pinReason: 'unknown',
  },
  {
    id: 'param-role',
    description: "SET role = …, RESET role, set_config('role', …, false): same as SET ROLE",
    match: { param: ['role'] },
    kind: 'set_role',
    pinReason: 'set_role',
  },
  {
    id: 'param-session-authorization',
    description: "SET session_authorization = …, set_config('session_authorization', …, false)",
    match: { param: ['session_authorization'] },
    kind: 'session_authorization',
    pinReason: 'session_authorization',
  },
  {
    id: 'param-transaction',
    description: 'SET transaction_isolation / transaction_read_only / transaction_deferrable: this transaction only',
    match: { param: ['transaction_isolation', 'transaction_read_only', 'transaction_deferrable'] },
    kind: 'set_local',
  },
  {
    id: 'param-standard-conforming-strings',
    description: 'SET standard_conforming_strings: with it off, backslashes in plain literals change where statements end, which the tokenizer does not follow',
    match: { param: ['standard_conforming_strings'] },
    kind: 'unknown',
    pinReason: 'unknown',
  },
  // Session objects and their commands.
  { id: 'discard', description: 'DISCARD ALL | PLANS | SEQUENCES | TEMP: resets state, nothing left to carry', match: { lead: ['discard'] }, kind: 'discard' },
  {
    id: 'sql-prepare',
    description: 'SQL-level PREPARE name AS …: the statement lives in the session',
    match: { lead: ['prepare'] },
    kind: 'prepare',
    pinReason: 'sql_prepare',
  },
  { id: 'sql-execute', description: 'EXECUTE of an SQL-level prepared statement (its PREPARE pinned already)', match: { lead: ['execute'] }, kind: 'execute' },
  { id: 'sql-deallocate', description: 'DEALLOCATE [PREPARE] name | ALL', match: { lead: ['deallocate'] }, kind: 'deallocate' },
  { id: 'listen', description: 'LISTEN: notifications are delivered to this session', match: { lead: ['listen'] }, kind: 'listen', pinReason: 'listen' },
  { id: 'unlisten', description: 'UNLISTEN', match: { lead: ['unlisten'] }, kind: 'unlisten' },
  { id: 'load', description: 'LOAD: a shared library stays loaded in the backend', match: { lead: ['load'] }, kind: 'load', pinReason: 'load' },
  {
    id: 'declare-with-hold',
    description: 'DECLARE … WITH HOLD: the cursor outlives the transaction',
    match: { lead: ['declare'], seq: ['with', 'hold'] },
    kind: 'declare_with_hold',
    pinReason: 'cursor_with_hold',
  },
  { id: 'declare', description: 'DECLARE cursor without HOLD: lives and dies inside the transaction', match: { lead: ['declare'] }, kind: 'declare' },
  {
    id: 'create-temp-on-commit-drop',
    description: 'CREATE TEMP TABLE … ON COMMIT DROP: gone when the transaction ends',
    match: { lead: ['create'], head: TEMP_HEAD, seq: ['on', 'commit', 'drop'] },
    kind: 'temp_object',
  },
  {
    id: 'create-temp',
    description: 'CREATE TEMP/TEMPORARY TABLE, SEQUENCE or VIEW, or CREATE anything in pg_temp',
    match: { lead: ['create'], head: TEMP_HEAD },
    kind: 'temp_object',
    pinReason: 'temp_table',
  },
  { id: 'copy', description: 'COPY', match: { lead: ['copy'] }, kind: 'copy' },
  {
    id: 'do-session',
    description: 'DO block whose body visibly changes session state (set_config, advisory lock, temp table, SET, LISTEN, …)',
    match: { lead: ['do'], body: SESSION_BODY },
    kind: 'unknown',
    pinReason: 'unknown',
  },
  { id: 'do-opaque', description: 'DO block with no visible session change (its effects cannot be inspected)', match: { lead: ['do'] }, kind: 'plain' },
  // Inside any statement.
  {
    id: 'advisory-lock',
    description: 'Session-level advisory lock (the _xact_ variants do not pin)',
    match: { call: ['pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared'] },
    kind: 'advisory_lock',
    pinReason: 'advisory_lock',
  },
  {
    id: 'set-config-session',
    description:
      "set_config('name', 'value', false) with literal arguments, the only call of its kind in a SELECT with no FROM/WHERE/…: runs exactly once, tracked like SET",
    match: { call: ['set_config'], form: 'session-literal' },
    kind: 'set',
    pinReason: 'variable_set',
  },
  {
    id: 'set-config-dynamic',
    description: 'set_config(…, false) (or a non-literal is_local) anywhere else, or more than 32 set_config calls in one statement: cannot be replayed',
    match: { call: ['set_config'], form: 'session-computed' },
    kind: 'set_config',
    pinReason: 'set_config',
  },
  { id: 'set-config-local', description: 'set_config(…, true): transaction-local', match: { call: ['set_config'], form: 'local' }, kind: 'set_local' },
  {
    id: 'select-into-temp',
    description: 'SELECT … INTO TEMP/TEMPORARY table (or INTO pg_temp.name)',
    match: { special: 'INTO TEMP in a SELECT' },
    kind: 'temp_object',
    pinReason: 'temp_table',
  },
  { id: 'plain', description: 'Anything else: no session effect the classifier can see', match: { special: 'no rule matched' }, kind: 'plain' },
];

export const RULES_BY_ID: ReadonlyMap<string, Rule> = new Map(RULES.map((r) => [r.id, r]));
export const LEAD_RULES = RULES.filter((r): r is Rule & { match: LeadMatch } => 'lead' in r.match);
export const PARAM_RULES = RULES.filter((r): r is Rule & { match: ParamMatch } => 'param' in r.match);

/** The rule with this id (the ids used by the classifier are fixed; a typo is a bug caught by tests). */
export function rule(id: string): Rule {
  const r = RULES_BY_ID.get(id);
  if (!r) throw new Error(`no pinning rule ${id}`);
  return r;
}

/** Functions whose call anywhere pins: session-level advisory locks. */
export const ADVISORY_LOCK_FUNCTIONS: ReadonlySet<string> = new Set((rule('advisory-lock').match as CallMatch).call);

/** The rule table as Markdown, for docs/pinning.md. */
export function rulesMarkdown(): string {
  const rows = RULES.map((r) => `| \`${r.id}\` | ${matchText(r.match)} | ${r.kind} | ${r.pinReason ?? '—'} | ${r.description.replace(/\|/g, '\\|')} |`);
  return ['| id | matches | kind | pins with | what and why |', '|---|---|---|---|---|', ...rows].join('\n');
}

function matchText(m: Match): string {
  if ('lead' in m) {
    let s = `\`${m.lead.join(' ').toUpperCase()} …\``;
    if (m.head) s += ` with ${m.head.map((w) => `\`${w}\``).join('/')} before AS or (`;
    if (m.seq) s += ` containing \`${m.seq.join(' ').toUpperCase()}\``;
    if (m.body) s += ' whose body matches the session-keyword pattern';
    return s;
  }
  if ('call' in m) return m.call.map((f) => `\`${f}(…)\``).join(', ') + (m.form ? ` (${m.form})` : '');
  if ('param' in m) return `parameter ${m.param.map((p) => `\`${p}\``).join(', ')}`;
  return m.special;
}
