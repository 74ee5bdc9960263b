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
import { INJECTED, PreparedRouter, type Sender } from './prepared.js';
import type { SettingsTracker } from './settings.js';
import { SYNC, type ClientStatements } from './statements.js';

/** What the classifier decided for SQL the client sent (pin, SETs to track): the machine applies it. */
export interface DecisionSink {
  applyDecision(d: Decision): void;
}

export class Forwarder<B extends BackendState> implements Sender {
  private readonly router: PreparedRouter;
  /**
   * The backend of the message being forwarded: the router's requests go there (Sender). A field,
   * not a closure per backend linked: no allocation per unit of work, none kept by an idle client.
   */
  private target: B | undefined;

  constructor(
    private readonly io: SessionIO<B>,
    private readonly ctx: MachineContext,
    private readonly settings: SettingsTracker,
    statements: ClientStatements,
    private readonly decisions: DecisionSink,
  ) {
    this.router = new PreparedRouter(statements);
  }

  /** At a boundary: close the backend's garbage statements and bring its settings in line. */
  prepare(b: B): void {
    const closes = b.statements.takeCloses();
    if (closes.length > 0) {
      for (const c of closes) this.sendOn(b, c, Req.Close, INJECTED);
      this.sendOn(b, SYNC, Req.Sync, INJECTED);
    }
    const sql = this.settings.syncSql(b.params);
    if (sql !== '') {
      b.statements.unnamed = undefined;
      this.sendOn(b, serialize.query(sql), Req.Query, this.settingsHook(b));
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

  sendOn(b: B, bytes: Buffer, req: Req, hook?: Hook): void {
    this.io.toBackend(b, bytes);
    b.ledger.push(req, hook);
  }

  /** Sender: a request for the backend of the message being forwarded. */
  send(bytes: Buffer, req: Req, hook?: Hook): void {
    this.sendOn(this.target!, bytes, req, hook);
  }

  /** One client message (not Terminate) for the linked backend `b`. */
  forward(b: B, m: FrontendMessage): void {
    this.target = b;
    switch (m.type) {
      case FrontendCode.Query:
        return this.forwardQuery(m, b);
      case FrontendCode.Parse:
        this.decisions.applyDecision(this.ctx.decide(m.sql));
        return this.router.parse(m, b.statements, this);
      case FrontendCode.Bind:
        return this.router.bind(m, b.statements, this);
      case FrontendCode.Describe:
        if (m.kind === 0x53) return this.router.describe(m, b.statements, this);
        return this.sendOn(b, bytesOf(m), Req.DescribePortal);
      case FrontendCode.Close:
        if (m.kind === 0x53) return this.router.close(m, b.statements, this);
        return this.sendOn(b, bytesOf(m), Req.Close);
      default:
        return this.sendOn(b, bytesOf(m), reqOf(m.type)!);
    }
  }

  private forwardQuery(m: FrontendMessage, b: B): void {
    const d = this.ctx.decide(m.sql);
    this.decisions.applyDecision(d);
    const undoUnnamed = this.router.query(b.statements);
    if (d.deallocate !== undefined) {
      const mapped = this.router.deallocate(d.deallocate, b.statements, b.ledger, this);
      if (mapped) return this.sendOn(b, mapped.bytes, Req.Query, mapped.hook);
    }
    if (d.deallocateAll || d.discardAll) return this.sendOn(b, bytesOf(m), Req.Query, this.router.deallocateAll(b.statements, b.ledger));
    this.sendOn(b, bytesOf(m), Req.Query, undoUnnamed);
  }
}
