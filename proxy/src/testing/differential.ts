/**
 * The differential runner: a scenario is a list of steps (send a batch of raw messages, read until
 * N ReadyForQuery / the close / a message type / a quiet period, sleep, hang up). Run against a
 * target (PostgreSQL directly, or the proxy in front of it) it yields a transcript of backend
 * records; two transcripts compare to a readable diff (empty when equal). Bystanders (other
 * clients of the same pool) are in bystanders.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { query, show, startup, terminate, WireConn, type Endpoint, type Rec, type SendMode, type Until } from './wire.js';

export interface Target extends Endpoint {
  user: string;
  database: string;
}

export interface StepContext {
  /** Records of this connection's previous read. */
  last: Rec[];
  /** Every record this connection read so far. */
  all: Rec[];
}

export type Payload = Buffer[] | ((ctx: StepContext) => Buffer[]);

export type Step =
  | { send: Payload; conn?: string; mode?: SendMode }
  | { expect: Until | number | 'close'; conn?: string }
  | { sleep: number }
  | { hangup: 'end' | 'destroy'; conn?: string };

export interface Scenario {
  name: string;
  steps: Step[];
  /**
   * When the bystanders act (bystanders.ts): `around` (default) a holder keeps one backend in a
   * transaction while the scenario runs, and the holders swap backends after every round trip of
   * the scenario that ends idle, so each round trip runs on the other backend; `after` they act only
   * before and after the scenario (for scenarios that use several connections, or pin their
   * backend); `late` they connect after the first round trip (a main connection that sends its
   * startup with its first batch must be the pool's first client).
   */
  bystanders?: 'around' | 'after' | 'late';
  /** The main connection sends its startup message together with its first batch. */
  startupInFirstSend?: boolean;
  /** Run in a database created for the run (the test creates it). */
  freshDatabase?: boolean;
  /** Only these send modes (for big payloads, where one write per byte would take too long). */
  modes?: SendMode[];
}

/** A send and a read of `z` ReadyForQuery (or another condition) on one connection. */
export function rt(msgs: Payload, z: Until | number | 'close' = 1, conn?: string): Step[] {
  return conn === undefined
    ? [{ send: msgs }, { expect: z }]
    : [
        { send: msgs, conn },
        { expect: z, conn },
      ];
}

export interface Entry {
  label: string;
  records: Rec[];
}

export interface Transcript {
  entries: Entry[];
}

export interface Hooks {
  beforeStep?(i: number): Promise<void>;
  /** `read`: what the step read, if it was a read on the main connection. */
  afterStep?(i: number, read: Rec[] | undefined): Promise<void>;
}

export interface RunOptions {
  mode: SendMode;
  hooks?: Hooks;
  /** Per read (default 3 s). */
  timeoutMs?: number;
}

function untilOf(e: Until | number | 'close'): Until {
  return typeof e === 'number' ? { z: e } : e === 'close' ? { close: true } : e;
}

function label(u: Until): string {
  if ('z' in u) return `until ${u.z} Z`;
  if ('close' in u) return 'until close';
  if ('type' in u) return `until ${u.type}`;
  return `quiet ${u.quiet}ms`;
}

/**
 * In a column named `pid`, the session's own BackendKeyData process id reads as `<pid>` (it differs
 * from run to run; whether it matches the server process is what such a scenario asks).
 */
function normalize(recs: Rec[], pid: number | undefined): Rec[] {
  if (pid === undefined) return recs;
  let pidColumn = -1;
  return recs.map((r) => {
    if (r.type === 'T') pidColumn = r.fields?.indexOf('pid') ?? -1;
    if (r.type !== 'D' || pidColumn < 0 || r.values?.[pidColumn] !== String(pid)) return r;
    return { ...r, values: r.values.map((v, i) => (i === pidColumn ? '<pid>' : v)) };
  });
}

/** Runs a scenario against one target; every connection it opened is closed at the end. */
export async function runScenario(target: Target, s: Scenario, opts: RunOptions): Promise<Transcript> {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const entries: Entry[] = [];
  const conns = new Map<string, WireConn>();
  const history = new Map<string, { last: Rec[]; all: Rec[] }>();
  let pendingStartup = false;
  const open = async (name: string): Promise<WireConn> => {
    let c = conns.get(name);
    if (c) return c;
    if (name === 'main' && s.startupInFirstSend) {
      c = await WireConn.raw(target);
      pendingStartup = true;
    } else {
      c = await WireConn.open(target, { user: target.user, database: target.database, params: { application_name: 'differential' } });
    }
    conns.set(name, c);
    history.set(name, { last: [], all: [] });
    return c;
  };
  try {
    await open('main');
    for (let i = 0; i < s.steps.length; i++) {
      await opts.hooks?.beforeStep?.(i);
      const step = s.steps[i]!;
      let read: Rec[] | undefined;
      if ('sleep' in step) {
        await sleep(step.sleep);
      } else if ('send' in step) {
        const name = step.conn ?? 'main';
        const c = await open(name);
        let msgs = typeof step.send === 'function' ? step.send(history.get(name)!) : step.send;
        if (name === 'main' && pendingStartup) {
          msgs = [startup({ user: target.user, database: target.database, application_name: 'differential' }), ...msgs];
          pendingStartup = false;
        }
        await c.send(msgs, step.mode ?? opts.mode);
      } else if ('expect' in step) {
        const name = step.conn ?? 'main';
        const c = await open(name);
        const u = untilOf(step.expect);
        const records = normalize(await c.read(u, timeoutMs), c.pid);
        const h = history.get(name)!;
        h.last = records;
        h.all.push(...records);
        entries.push({ label: `step ${i} ${name} ${label(u)}`, records });
        if (name === 'main') read = records;
        if (records.some((r) => r.type === 'timeout')) {
          entries.push({ label: 'aborted: a read timed out', records: [] });
          return { entries };
        }
      } else {
        const c = await open(step.conn ?? 'main');
        if (step.hangup === 'end') c.end();
        else c.destroy();
      }
      await opts.hooks?.afterStep?.(i, read);
    }
    // Whatever is still owed or stray shows up before the probe's own reply.
    for (const [name, c] of conns) {
      if (c.closed) continue;
      await c.send([query("select 'probe' as probe")]);
      entries.push({ label: `probe ${name}`, records: normalize(await c.read({ z: 1 }, timeoutMs), c.pid) });
    }
    return { entries };
  } finally {
    await Promise.all([...conns.values()].map((c) => c.terminate(1_000).catch(() => c.destroy())));
  }
}

// ------------------------------------------------------------------ comparing

function lines(t: Transcript): string[] {
  return t.entries.flatMap((e) => [`## ${e.label}`, ...e.records.map((r) => '   ' + show(r))]);
}

/** The transcript as text, one record a line under each read's label. */
export function renderTranscript(t: Transcript): string {
  return lines(t).join('\n') + '\n';
}

/** A line diff of two transcripts ('' when they are equal): changed lines with 3 lines of context. */
export function diffTranscripts(a: Transcript, b: Transcript, names: [string, string] = ['direct', 'proxy']): string {
  const x = lines(a);
  const y = lines(b);
  if (x.length === y.length && x.every((l, i) => l === y[i])) return '';
  // LCS table (transcripts are small).
  const n = x.length;
  const m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = x[i] === y[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const all: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      all.push('  ' + x[i++]!);
      j++;
    } else if (i < n && (j === m || L[i + 1]![j]! >= L[i]![j + 1]!)) all.push('- ' + x[i++]!);
    else all.push('+ ' + y[j++]!);
  }
  const near = (k: number): boolean => all.slice(Math.max(0, k - 3), k + 4).some((l) => l[0] !== ' ');
  const out = [`--- ${names[0]}`, `+++ ${names[1]}`];
  let skipped = false;
  all.forEach((l, k) => {
    // Read labels always show, so each change is placed.
    if (near(k) || l.startsWith('  ## ')) {
      if (skipped) out.push('  …');
      skipped = false;
      out.push(l);
    } else skipped = true;
  });
  if (skipped) out.push('  …');
  return out.join('\n');
}

/** Harness sanity for a run against PostgreSQL itself: no read may have timed out. */
export function timeouts(t: Transcript): string[] {
  return t.entries.filter((e) => e.records.some((r) => r.type === 'timeout')).map((e) => e.label);
}

// ------------------------------------------------------------------ cut batches

/** A batch cut after `cutAfter` messages by Terminate or by the client closing its socket (EOF). */
export interface CutCase {
  name: string;
  msgs: Buffer[];
  cutAfter: number;
  ending: 'terminate' | 'eof';
}

/** Sends the cut batch and waits (bounded) for the connection to close. */
export async function runCut(target: Target, c: CutCase, mode: SendMode): Promise<void> {
  const conn = await WireConn.open(target, { user: target.user, database: target.database });
  try {
    const msgs = c.msgs.slice(0, c.cutAfter);
    await conn.send(c.ending === 'terminate' ? [...msgs, terminate()] : msgs, mode);
    if (c.ending === 'eof') conn.end();
    await conn.read({ close: true }, 3_000);
  } finally {
    conn.destroy();
  }
}
