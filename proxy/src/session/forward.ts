/**
 * Client messages to the linked backend: statement names through the router, SQL through the
 * classifier (pins, tracked SETs, DEALLOCATE), every request recorded in the backend's ledger; and
 * the proxy's own work at a boundary (closing garbage statements, replaying settings).
 */
import { serialize } from 'pg-protocol';
import type { Decision } from '../pinning/index.js';
import { FrontendCode, noticeResponse } from '../protocol/messages.js';
import { bytesOf, type FrontendMessage } from './frontend.js';
import type { BackendState, MachineContext, SessionIO } from './io.js';
import { Req, reqOf, type Hook } from './ledger.js';
import { INJECTED, PreparedRouter, type Send } from './prepared.js';
import type { SettingsTracker } from './settings.js';
import { SYNC, type ClientStatements } from './statements.js';

export class Forwarder<B extends BackendState> {
  private readonly router: PreparedRouter;

  constructor(
    private readonly io: SessionIO<B>,
    private readonly ctx: MachineContext,
    private readonly settings: SettingsTracker,
    statements: ClientStatements,
    /** What the classifier decided for SQL the client sent (pin, SETs to track). */
    private readonly onDecision: (d: Decision) => void,
  ) {
    this.router = new PreparedRouter(statements);
  }

  /** At a boundary: close the backend's garbage statements and bring its settings in line. */
  prepare(b: B): void {
    const closes = b.statements.takeCloses();
    if (closes.length > 0) {
      for (const c of closes) this.send(b, c, Req.Close, INJECTED);
      this.send(b, SYNC, Req.Sync, INJECTED);
    }
    const sql = this.settings.syncSql(b.params);
    if (sql !== '') {
      b.statements.unnamed = undefined;
      this.send(b, serialize.query(sql), Req.Query, this.settingsHook(b));
    }
  }

  private settingsHook(b: B): Hook {
    return {
      injected: true,
      onError: (fields) => {
        this.io.warn({ error: fields['M'] }, 'replaying session settings failed');
        // The backend's settings are now unknown: the next borrower re-applies its own.
        b.params = new Map([['dbproxy.unknown', "'1'"]]);
        this.io.toClient(
          noticeResponse({
            severity: 'WARNING',
            code: fields['C'] ?? 'XX000',
            message: `the proxy could not restore a session setting on the database connection: ${fields['M'] ?? ''}`,
          }),
        );
      },
    };
  }

  send(b: B, bytes: Buffer, req: Req, hook?: Hook): void {
    this.io.toBackend(b, bytes);
    b.ledger.push(req, hook);
  }

  /** One client message (not Terminate) for the linked backend `b`. */
  forward(b: B, m: FrontendMessage): void {
    switch (m.type) {
      case FrontendCode.Query:
        return this.forwardQuery(m, b, this.sender(b));
      case FrontendCode.Parse:
        this.onDecision(this.ctx.decide(m.sql));
        return this.router.parse(m, b.statements, this.sender(b));
      case FrontendCode.Bind:
        return this.router.bind(m, b.statements, this.sender(b));
      case FrontendCode.Describe:
        if (m.kind === 0x53) return this.router.describe(m, b.statements, this.sender(b));
        return this.send(b, bytesOf(m), Req.DescribePortal);
      case FrontendCode.Close:
        if (m.kind === 0x53) return this.router.close(m, b.statements, this.sender(b));
        return this.send(b, bytesOf(m), Req.Close);
      default:
        return this.send(b, bytesOf(m), reqOf(m.type)!);
    }
  }

  private senderFor: B | undefined;
  private senderFn: Send | undefined;

  /** A `send` bound to `b`, made once per backend linked (not once per message). */
  private sender(b: B): Send {
    if (this.senderFor !== b || this.senderFn === undefined) {
      this.senderFor = b;
      this.senderFn = (bytes, req, hook) => this.send(b, bytes, req, hook);
    }
    return this.senderFn;
  }

  private forwardQuery(m: FrontendMessage, b: B, send: Send): void {
    const d = this.ctx.decide(m.sql);
    this.onDecision(d);
    const undoUnnamed = this.router.query(b.statements);
    if (d.deallocate !== undefined) {
      const mapped = this.router.deallocate(d.deallocate, b.statements, b.ledger, send);
      if (mapped) return send(mapped.bytes, Req.Query, mapped.hook);
    }
    if (d.deallocateAll || d.discardAll) return send(bytesOf(m), Req.Query, this.router.deallocateAll(b.statements, b.ledger));
    send(bytesOf(m), Req.Query, undoUnnamed);
  }
}
