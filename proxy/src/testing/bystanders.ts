/**
 * Bystanders: clients of the scenario's pool that must keep getting exactly their own replies while
 * and after a scenario runs — to catch one client's replies (or transaction) leaking to the next
 * client of the same backend.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runScenario, type Hooks, type RunOptions, type Scenario, type Target, type Transcript } from './differential.js';
import { query, show, WireConn, type Rec } from './wire.js';

/** What `select <n> as v` answers, with the given ReadyForQuery status at the end. */
export function selectReply(n: number, status: 'I' | 'T' = 'I'): Rec[] {
  return [
    { type: 'T', fields: ['v'], types: [23], formats: [0] },
    { type: 'D', values: [String(n)] },
    { type: 'C', tag: 'SELECT 1' },
    { type: 'Z', status },
  ];
}

let uniqueBase = 700_000;

type Who = 'idle' | 'holder 1' | 'holder 2';

/**
 * Three clients of the scenario's pool (of 2). `idle` sits connected and asks only at the end. The
 * holders take turns keeping a backend in a transaction: while one holds, the scenario has the other
 * backend; after each of the scenario's round trips that ends idle, the free holder takes the backend
 * the scenario just gave back and the other holder lets go of its own, so the scenario's next round
 * trip runs on the other backend — right after another client's transaction there. Each bystander
 * must get exactly its own replies; problems are collected.
 */
export class Bystanders {
  readonly problems: string[] = [];
  private conns = new Map<Who, WireConn>();
  private holding: 'holder 1' | 'holder 2' | undefined;
  private next = (uniqueBase += 1_000);
  private where = 'before the scenario';

  constructor(
    private readonly target: Target,
    /** Per read: above the pool's borrowTimeout, so a starved bystander reports the pool error. */
    private readonly timeoutMs = 8_000,
  ) {}

  async connect(): Promise<void> {
    if (this.conns.size > 0) return;
    const o = { user: this.target.user, database: this.target.database, params: { application_name: 'bystander' } };
    for (const who of ['idle', 'holder 1', 'holder 2'] as const) this.conns.set(who, await WireConn.open(this.target, o));
  }

  private async exchange(who: Who, sql: string, expected: Rec[]): Promise<void> {
    const c = this.conns.get(who)!;
    const stray = c.take();
    if (stray.length > 0) this.problems.push(`${who} (${this.where}): stray messages before "${sql}": ${stray.map(show).join(' | ')}`);
    await c.send([query(sql)]);
    const got = await c.read({ z: 1 }, this.timeoutMs);
    const a = got.map(show).join(' | ');
    const b = expected.map(show).join(' | ');
    if (a !== b) this.problems.push(`${who} (${this.where}): "${sql}" answered ${a}; expected ${b}`);
  }

  private select(who: Who, status: 'I' | 'T' = 'I'): Promise<void> {
    const n = ++this.next;
    return this.exchange(who, `select ${n} as v`, selectReply(n, status));
  }

  /** A holder opens a transaction and keeps its backend. */
  private async hold(who: 'holder 1' | 'holder 2'): Promise<void> {
    await this.exchange(who, 'begin', [
      { type: 'C', tag: 'BEGIN' },
      { type: 'Z', status: 'T' },
    ]);
    await this.select(who, 'T');
    this.holding = who;
  }

  /** A holder finishes its transaction, giving its backend back. */
  private async release(who = this.holding): Promise<void> {
    if (!who) return;
    if (this.holding === who) this.holding = undefined;
    await this.select(who, 'T');
    await this.exchange(who, 'commit', [
      { type: 'C', tag: 'COMMIT' },
      { type: 'Z', status: 'I' },
    ]);
  }

  /** The free holder takes the backend the scenario just released; the other lets go of its own. */
  private async rotate(): Promise<void> {
    const held = this.holding;
    await this.hold(held === 'holder 1' ? 'holder 2' : 'holder 1');
    await this.release(held);
  }

  /** After the scenario: the bystanders use both backends of the pool, then nothing more may arrive. */
  async finalRound(): Promise<void> {
    this.where = 'after the scenario';
    await this.release();
    await this.hold('holder 1');
    await this.select('idle');
    await this.release();
    await this.select('idle');
    await this.select('holder 2');
    await sleep(15);
    for (const [who, c] of this.conns) {
      const stray = c.take();
      if (stray.length > 0) this.problems.push(`${who} (at the end): stray messages: ${stray.map(show).join(' | ')}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.conns.values()].map((c) => c.terminate(1_000).catch(() => c.destroy())));
  }

  /** Hooks that place the bystanders around the scenario as it asks. */
  hooks(s: Scenario): Hooks {
    const mode = s.bystanders ?? (s.startupInFirstSend ? 'late' : 'around');
    const first = Math.max(
      0,
      s.steps.findIndex((st) => 'expect' in st),
    );
    return {
      beforeStep: async (i) => {
        if (i !== 0 || mode === 'late') return;
        await this.connect();
        if (mode === 'around') await this.hold('holder 1');
        else await this.roundTrip();
      },
      afterStep: async (i, read) => {
        this.where = `after step ${i}`;
        const last = read?.[read.length - 1];
        // Only when the scenario holds no backend: its read ended idle, or its connection closed.
        if (mode === 'around' && (last?.type === 'closed' || (last?.type === 'Z' && last.status === 'I'))) await this.rotate();
        else if (mode === 'late' && i === first) {
          await this.connect();
          await this.roundTrip();
        }
      },
    };
  }

  private async roundTrip(): Promise<void> {
    await this.hold('holder 1');
    await this.release();
  }
}

/** A scenario with its bystanders: the transcript and what the bystanders saw wrong. */
export async function runWithBystanders(target: Target, s: Scenario, opts: RunOptions): Promise<{ transcript: Transcript; problems: string[] }> {
  const by = new Bystanders(target);
  try {
    const transcript = await runScenario(target, s, { ...opts, hooks: by.hooks(s) });
    await by.connect();
    await by.finalRound();
    return { transcript, problems: by.problems };
  } finally {
    await by.close();
  }
}
