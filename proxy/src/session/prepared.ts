/**
 * Routes a client's statement messages (Parse, Bind, Describe/Close of 'S', SQL DEALLOCATE) to the
 * linked backend: client names become backend names, statements the backend lacks are prepared
 * first, and each name is committed only when the server confirms it — a failed or skipped Parse
 * leaves nothing behind, as on PostgreSQL.
 */
import { Buffer } from 'node:buffer';
import { serialize } from 'pg-protocol';
import { FrontendCode } from '../protocol/messages.js';
import { bytesOf, type FrontendMessage } from './frontend.js';
import { Outcome, Req, type Hook, type ReplyLedger } from './ledger.js';
import {
  closeStatement,
  MISSING,
  SYNC,
  parseMessage,
  renameBind,
  renamer,
  retire,
  Statement,
  statementTarget,
  unnamedMissing,
  type BackendStatements,
  type ClientStatements,
} from './statements.js';

/** Where the router's requests go: the linked backend (the session's Forwarder). */
export interface Sender {
  send(bytes: Buffer, req: Req, hook?: Hook): void;
}

const INJECTED: Hook = { injected: true };
const UNNAMED_MISSING: Hook = { injected: false, rewrite: unnamedMissing };

export class PreparedRouter {
  constructor(readonly client: ClientStatements) {}

  parse(m: FrontendMessage, b: BackendStatements, out: Sender): void {
    const tail = Buffer.from(m.buf.subarray(m.at, m.end));
    if (m.name === '') return this.parseUnnamed(m, tail, b, out);
    const name = m.name;
    const live = this.client.named.get(name);
    if (live !== undefined) {
      // PostgreSQL refuses to redefine a live name (42P05): let the server say so, under the backend name.
      this.hold(live, b, out);
      out.send(parseMessage(live.backendName, tail), Req.Parse, { injected: false, rewrite: renamer(live.backendName, name) });
      return;
    }
    const s = new Statement(tail, true);
    this.client.named.set(name, s);
    b.add(s);
    const rewrite = renamer(s.backendName, name);
    s.hook = { injected: false, rewrite };
    out.send(s.parse(), Req.Parse, {
      injected: false,
      rewrite,
      done: (o) => {
        if (o === Outcome.Ok) return;
        if (this.client.named.get(name) === s) this.client.named.delete(name);
        b.forget(s);
        retire(s);
      },
    });
  }

  private parseUnnamed(m: FrontendMessage, tail: Buffer, b: BackendStatements, out: Sender): void {
    const s = new Statement(tail, false);
    const before = this.client.unnamed;
    const beforeOnBackend = b.unnamed;
    this.client.unnamed = s;
    b.unnamed = s;
    out.send(bytesOf(m), Req.Parse, {
      injected: false,
      done: (o) => {
        if (o === Outcome.Ok) return;
        // A failed unnamed Parse has already dropped the previous one; a skipped one changed nothing.
        if (this.client.unnamed === s) this.client.unnamed = o === Outcome.Skipped ? before : undefined;
        if (b.unnamed === s) b.unnamed = o === Outcome.Skipped ? beforeOnBackend : undefined;
      },
    });
  }

  bind(m: FrontendMessage, b: BackendStatements, out: Sender): void {
    if (m.name === '') {
      const u = this.client.unnamed;
      if (u === undefined) return out.send(renameBind(m.buf, m.start, m.end, m.at, m.restAt, MISSING), Req.Bind, UNNAMED_MISSING);
      this.holdUnnamed(u, b, out);
      return out.send(bytesOf(m), Req.Bind);
    }
    const s = this.client.named.get(m.name);
    if (s === undefined) {
      return out.send(renameBind(m.buf, m.start, m.end, m.at, m.restAt, MISSING), Req.Bind, { injected: false, rewrite: renamer(MISSING, m.name) });
    }
    this.hold(s, b, out);
    out.send(renameBind(m.buf, m.start, m.end, m.at, m.restAt, s.backendName), Req.Bind, s.hook);
  }

  describe(m: FrontendMessage, b: BackendStatements, out: Sender): void {
    if (m.name === '') {
      const u = this.client.unnamed;
      if (u === undefined) return out.send(statementTarget(FrontendCode.Describe, MISSING), Req.DescribeStatement, UNNAMED_MISSING);
      this.holdUnnamed(u, b, out);
      return out.send(bytesOf(m), Req.DescribeStatement);
    }
    const s = this.client.named.get(m.name);
    if (s === undefined) {
      return out.send(statementTarget(FrontendCode.Describe, MISSING), Req.DescribeStatement, { injected: false, rewrite: renamer(MISSING, m.name) });
    }
    this.hold(s, b, out);
    out.send(statementTarget(FrontendCode.Describe, s.backendName), Req.DescribeStatement, s.hook);
  }

  close(m: FrontendMessage, b: BackendStatements, out: Sender): void {
    if (m.name === '') {
      const u = this.client.unnamed;
      this.client.unnamed = undefined;
      const own = u !== undefined && b.unnamed === u;
      if (own) b.unnamed = undefined;
      const restore = (o: Outcome): void => {
        if (o === Outcome.Ok) return;
        if (this.client.unnamed === undefined) this.client.unnamed = u;
        if (own && b.unnamed === undefined) b.unnamed = u;
      };
      return out.send(own ? bytesOf(m) : closeStatement(MISSING), Req.Close, u ? { injected: false, done: restore } : undefined);
    }
    const name = m.name;
    const s = this.client.named.get(name);
    // Closing a name that does not exist is not an error.
    if (s === undefined) return out.send(closeStatement(MISSING), Req.Close);
    this.client.named.delete(name);
    const held = b.holds(s);
    out.send(held ? closeStatement(s.backendName) : closeStatement(MISSING), Req.Close, {
      injected: false,
      done: (o) => {
        if (o === Outcome.Ok) {
          b.forget(s);
          retire(s, b);
        } else if (!this.client.named.has(name)) {
          this.client.named.set(name, s);
        }
      },
    });
  }

  /**
   * A simple Query destroys the unnamed statement, the client's and the backend's. Returns the hook
   * that undoes that if the server skips the Query (it was sent after an error, before Sync).
   */
  query(b: BackendStatements): Hook | undefined {
    const u = this.client.unnamed;
    const onBackend = b.unnamed;
    this.client.unnamed = undefined;
    b.unnamed = undefined;
    if (u === undefined && onBackend === undefined) return undefined;
    return {
      injected: false,
      done: (o) => {
        if (o !== Outcome.Skipped) return;
        if (this.client.unnamed === undefined) this.client.unnamed = u;
        if (b.unnamed === undefined) b.unnamed = onBackend;
      },
    };
  }

  /**
   * SQL `DEALLOCATE name` of a protocol-level statement: the server deallocates the client's copy
   * under its backend name. Returns the Query to send instead, or undefined for a name the client
   * did not prepare in the protocol (an SQL PREPARE, which pins: the server knows it).
   */
  deallocate(name: string, b: BackendStatements, ledger: ReplyLedger, out: Sender): { bytes: Buffer; hook: Hook } | undefined {
    const s = this.client.named.get(name);
    if (s === undefined) return undefined;
    if (!b.holds(s)) {
      // Prepared first in a batch of its own, so that an error there (a failed transaction) cannot
      // make the server skip the DEALLOCATE: the DEALLOCATE itself then fails as it would directly.
      // Inside an open batch of the client's that would change what an error skips: not done there.
      if (ledger.awaitsSync()) return undefined;
      b.add(s);
      out.send(s.parse(), Req.Parse, { injected: true, done: (o) => o !== Outcome.Ok && b.forget(s) });
      out.send(SYNC, Req.Sync, INJECTED);
    }
    this.client.named.delete(name);
    const hook: Hook = {
      injected: false,
      rewrite: renamer(s.backendName, name),
      done: (o) => {
        if (o === Outcome.Ok && !ledger.queryFailed) {
          b.forget(s);
          retire(s, b);
        } else if (!this.client.named.has(name)) {
          this.client.named.set(name, s);
        }
      },
    };
    return { bytes: serialize.query(`DEALLOCATE "${s.backendName}"`), hook };
  }

  /** `DEALLOCATE ALL` / `DISCARD ALL` ran on the backend: every named statement there is gone. */
  deallocateAll(b: BackendStatements, ledger: ReplyLedger): Hook {
    const before = new Map(this.client.named);
    this.client.named.clear();
    return {
      injected: false,
      done: (o) => {
        if (o === Outcome.Ok && !ledger.queryFailed) {
          b.clearAll();
          for (const s of before.values()) retire(s);
          return;
        }
        // Not transactional, and the string failed somewhere: what the server holds is unknown.
        b.unknown = true;
        for (const [n, s] of before) if (!this.client.named.has(n)) this.client.named.set(n, s);
      },
    };
  }

  /** Makes sure the backend holds `s`, preparing it first (the reply is the proxy's). */
  private hold(s: Statement, b: BackendStatements, out: Sender): void {
    if (b.holds(s)) return;
    b.add(s);
    out.send(s.parse(), Req.Parse, {
      injected: true,
      forwardErrors: true,
      done: (o) => {
        if (o !== Outcome.Ok) b.forget(s);
      },
    });
  }

  private holdUnnamed(u: Statement, b: BackendStatements, out: Sender): void {
    if (b.unnamed === u) return;
    b.unnamed = u;
    out.send(parseMessage('', u.tail), Req.Parse, {
      injected: true,
      forwardErrors: true,
      done: (o) => {
        if (o !== Outcome.Ok && b.unnamed === u) b.unnamed = undefined;
      },
    });
  }
}

export { INJECTED };
