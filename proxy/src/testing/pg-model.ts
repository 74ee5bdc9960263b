/**
 * Test support: a reference model of how PostgreSQL processes frontend messages and what it sends
 * back (PROTOCOL.md), written apart from the ledger so that one checks the other. Replies are type
 * characters; every ReadyForQuery says `I` (transaction blocks are not modelled).
 */

export type ModelRequest =
  | { type: 'Parse' | 'Bind' | 'Close'; fail?: boolean }
  | { type: 'DescribeStatement' | 'DescribePortal'; fail?: boolean }
  | { type: 'Execute'; fail?: boolean; rows?: number; copy?: 'in' | 'out' }
  | { type: 'Query'; fail?: boolean; copy?: 'in' | 'out' }
  | { type: 'FunctionCall'; fail?: boolean }
  | { type: 'Sync' | 'Flush' | 'CopyData' | 'CopyDone' | 'CopyFail' };

const EXTENDED = new Set(['Parse', 'Bind', 'Close', 'DescribeStatement', 'DescribePortal', 'Execute']);

export class PgModel {
  private skip = false;
  private copyIn: 'Execute' | 'Query' | undefined;
  /** An extended message was read since the last ReadyForQuery. */
  private open = false;
  /** During COPY FROM STDIN: a Sync was read after some CopyData. */
  private syncAfterData = false;
  private sawData = false;
  /**
   * A copy with a Sync among its data failed: a proxy cannot tell whether the error came from the
   * data before that Sync (then the server reads the Sync after the copy and answers it) or later.
   */
  ambiguous = false;

  /** Replies to one request, in order. */
  process(q: ModelRequest): string[] {
    if (this.copyIn) return this.inCopy(q);
    if (this.skip) {
      if (q.type !== 'Sync') return [];
      this.skip = false;
      this.open = false;
      return ['Z'];
    }
    if (EXTENDED.has(q.type)) this.open = true;
    const fail = 'fail' in q && q.fail === true;
    switch (q.type) {
      case 'Parse':
        return this.extended(fail, ['1']);
      case 'Bind':
        return this.extended(fail, ['2']);
      case 'Close':
        return this.extended(fail, ['3']);
      case 'DescribeStatement':
        return this.extended(fail, ['t', 'T']);
      case 'DescribePortal':
        return this.extended(fail, ['T']);
      case 'Execute':
        if (fail) return this.extended(true, []);
        if (q.copy === 'in') {
          this.startCopy('Execute');
          return ['G'];
        }
        if (q.copy === 'out') return ['H', 'd', 'd', 'c', 'C'];
        return [...Array<string>(q.rows ?? 1).fill('D'), 'C'];
      case 'Query':
        this.open = false;
        if (fail) return ['E', 'Z'];
        if (q.copy === 'in') {
          this.startCopy('Query');
          return ['G'];
        }
        if (q.copy === 'out') return ['H', 'd', 'c', 'C', 'Z'];
        return ['T', 'D', 'C', 'Z'];
      case 'FunctionCall':
        this.open = false;
        return fail ? ['E', 'Z'] : ['V', 'Z'];
      case 'Sync':
        this.open = false;
        return ['Z'];
      default:
        return []; // Flush; COPY messages outside COPY are ignored
    }
  }

  /** Nothing open: a backend in this state may serve another client. */
  get idle(): boolean {
    return !this.skip && !this.copyIn && !this.open;
  }

  get copying(): boolean {
    return this.copyIn !== undefined;
  }

  private extended(fail: boolean, ok: string[]): string[] {
    if (!fail) return ok;
    this.skip = true;
    return ['E'];
  }

  private startCopy(from: 'Execute' | 'Query'): void {
    this.copyIn = from;
    this.sawData = false;
    this.syncAfterData = false;
  }

  private inCopy(q: ModelRequest): string[] {
    if (q.type === 'CopyData') this.sawData = true;
    if (q.type === 'Sync' && this.sawData) this.syncAfterData = true;
    if (q.type === 'CopyData' || q.type === 'Sync' || q.type === 'Flush') return [];
    const from = this.copyIn!;
    this.copyIn = undefined;
    if (q.type === 'CopyDone') return from === 'Query' ? ['C', 'Z'] : ['C'];
    // CopyFail, or any other message: the copy fails.
    if (this.syncAfterData) this.ambiguous = true;
    if (from === 'Query') return ['E', 'Z'];
    this.skip = true;
    return ['E'];
  }
}
