/**
 * A client's session settings: its startup parameters plus the SETs it ran (tracked, not pinned,
 * under EXCLUDE_VARIABLE_SETS). A SET counts only once its statement and its transaction committed;
 * the backend's settings are brought in line at each borrow with only the differences.
 */
import type { SetOp } from '../pinning/index.js';
import { startupSettings, syncSettingsSql } from './params.js';

const I = 0x49;
const T = 0x54;
const E = 0x45;

export class SettingsTracker {
  /** name → SQL value text, what the client's session has. */
  settings: Map<string, string>;
  private readonly startup: ReadonlyMap<string, string>;
  /** SETs of the request running now, and of the transaction block so far. */
  private unconfirmed: SetOp[] = [];
  private txnSets: SetOp[] = [];
  private failed = false;
  private lastTag = '';
  private status = I;

  /** Throws StartupOptionsError for `options` the proxy cannot honour. */
  constructor(startupParams: ReadonlyMap<string, string>) {
    this.startup = startupSettings(startupParams);
    this.settings = new Map(this.startup);
  }

  /** SETs are pending: CommandComplete tags matter (a ROLLBACK ends a block without them). */
  get tracking(): boolean {
    return this.unconfirmed.length > 0 || this.txnSets.length > 0;
  }

  track(ops: readonly SetOp[]): void {
    this.unconfirmed.push(...ops);
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
      if (!failed) this.txnSets.push(...this.unconfirmed);
      this.unconfirmed = [];
    }
    const before = this.status;
    this.status = status;
    if (status === T || this.txnSets.length === 0) return;
    if (status === E || (failed && before === I)) {
      this.txnSets = [];
    } else if (status === I) {
      if (this.lastTag !== 'ROLLBACK') this.apply(this.txnSets, backend);
      this.txnSets = [];
    }
  }

  /** The backend was lost: what the open transaction set is gone with it. */
  dropTransaction(): void {
    this.unconfirmed = [];
    this.txnSets = [];
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
  private apply(ops: SetOp[], backend: Map<string, string>): void {
    for (const op of ops) {
      if (op.op === 'reset_all') {
        this.settings = new Map(this.startup);
        backend.clear();
      } else if (op.op === 'reset' && op.name) {
        const value = this.startup.get(op.name);
        if (value === undefined) this.settings.delete(op.name);
        else this.settings.set(op.name, value);
        backend.delete(op.name);
      } else if (op.op === 'set' && op.name && op.value !== undefined) {
        this.settings.set(op.name, op.value);
        backend.set(op.name, op.value);
      }
    }
  }
}
