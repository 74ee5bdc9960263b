/**
 * A client's session settings: its startup parameters plus the SETs it ran (tracked, not pinned,
 * under EXCLUDE_VARIABLE_SETS). A SET counts only once its statement and its transaction committed;
 * the backend's settings are brought in line at each borrow with only the differences.
 */
import type { SetOp } from '../pinning/index.js';
import { startupSettings, syncSettingsSql } from './params.js';

/** No SETs (shared: most sessions never have any). */
const NONE: readonly SetOp[] = Object.freeze([]);
const I = 0x49;
const T = 0x54;
const E = 0x45;

export class SettingsTracker {
  /** name → SQL value text, what the client's session has (the shared startup map until a SET). */
  settings: ReadonlyMap<string, string>;
  private readonly startup: ReadonlyMap<string, string>;
  private own = false;
  /** SETs of the request running now, and of the transaction block so far. */
  private unconfirmed: readonly SetOp[] = NONE;
  private txnSets: readonly SetOp[] = NONE;
  private failed = false;
  private lastTag = '';
  private status = I;

  /** Throws StartupOptionsError for `options` the proxy cannot honour. */
  constructor(startupParams: ReadonlyMap<string, string>) {
    this.startup = sharedStartupSettings(startupParams);
    this.settings = this.startup;
  }

  /** SETs are pending: CommandComplete tags matter (a ROLLBACK ends a block without them). */
  get tracking(): boolean {
    return this.unconfirmed.length > 0 || this.txnSets.length > 0;
  }

  track(ops: readonly SetOp[]): void {
    this.unconfirmed = this.unconfirmed.concat(ops);
  }

  /** An ErrorResponse for one of the client's requests. */
  onError(): void {
    this.failed = true;
  }

  onCommandComplete(tag: string): void {
    this.lastTag = tag;
  }

  /** ReadyForQuery for the client: settle SETs. Updates `backend` (its settings) when they commit. */
  onReady(status: number, backend: Map<string, string>): void {
    const failed = this.failed || status === E;
    this.failed = false;
    if (this.unconfirmed.length > 0) {
      if (!failed) this.txnSets = this.txnSets.concat(this.unconfirmed);
      this.unconfirmed = NONE;
    }
    const before = this.status;
    this.status = status;
    if (status === T || this.txnSets.length === 0) return;
    if (status === E || (failed && before === I)) {
      this.txnSets = NONE;
    } else if (status === I) {
      if (this.lastTag !== 'ROLLBACK') this.apply(this.txnSets, backend);
      this.txnSets = NONE;
    }
  }

  /** The backend was lost: what the open transaction set is gone with it. */
  dropTransaction(): void {
    this.unconfirmed = NONE;
    this.txnSets = NONE;
    this.failed = false;
    this.status = I;
  }

  /** SQL that makes `backend` match the client (and records that it will), or '' when it does. */
  syncSql(backend: Map<string, string>): string {
    const sql = syncSettingsSql(this.settings, backend);
    if (sql === '') return sql;
    backend.clear();
    for (const [k, v] of this.settings) backend.set(k, v);
    return sql;
  }

  /** Whether `backend` differs from the client's settings. */
  differs(backend: ReadonlyMap<string, string>): boolean {
    return syncSettingsSql(this.settings, backend) !== '';
  }

  /**
   * RESET returns a setting to the client's startup value, which the backend (opened without it)
   * lacks: the backend's record says the server default, and the next sync restores the value.
   */
  private apply(ops: readonly SetOp[], backend: Map<string, string>): void {
    for (const op of ops) {
      if (op.op === 'reset_all') {
        this.settings = this.startup;
        this.own = false;
        backend.clear();
      } else if (op.op === 'reset' && op.name) {
        const value = this.startup.get(op.name);
        if (value === undefined) this.writable().delete(op.name);
        else this.writable().set(op.name, value);
        backend.delete(op.name);
      } else if (op.op === 'set' && op.name && op.value !== undefined) {
        this.writable().set(op.name, op.value);
        backend.set(op.name, op.value);
      }
    }
  }

  /** The session's own copy, made at its first SET or RESET. */
  private writable(): Map<string, string> {
    if (!this.own) {
      this.settings = new Map(this.startup);
      this.own = true;
    }
    return this.settings as Map<string, string>;
  }
}

/**
 * Clients of one application mostly connect with the same parameters: their startup maps (never
 * changed once made) are shared, so thousands of idle clients hold one copy. Bounded.
 */
const shared = new Map<string, ReadonlyMap<string, string>>();
const SHARED_MAX = 1_000;

function sharedStartupSettings(params: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  let key = '';
  for (const [name, value] of params) key += `${name}\u0000${value}\u0000`;
  let m = shared.get(key);
  if (m === undefined) {
    m = startupSettings(params); // throws StartupOptionsError for options the proxy cannot honour
    if (shared.size >= SHARED_MAX) shared.clear();
    shared.set(key, m);
  }
  return m;
}
