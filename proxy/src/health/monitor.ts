/** Probes target endpoints in rounds and reports when the writer changes. Timers live here. */
import { EventEmitter } from 'node:events';
import { parseHostPort } from '../../../contract/config/host-port.js';
import type { BackendTls } from '../../../contract/config/backend-tls.js';
import { probeEndpoint, type ProbeResult } from '../../../contract/health/probe.js';
import { FAST_ROUND_MS, initialHealth, nextHealth, pickWriter, roundDelayMs, writerInDoubt, type TargetHealth } from '../../../contract/health/writer.js';

export interface MonitorOptions {
  endpoints: string[];
  intervalMs: number;
  failureThreshold: number;
  timeoutMs: number;
  user: string;
  password: string;
  database?: string;
  /** The backend TLS settings at each probe (a rotated CA file is read again); none: plaintext. */
  tls?: () => BackendTls;
  probe?: (endpoint: string) => Promise<ProbeResult>;
  /**
   * Where a monitor that replaces another starts from (a config reload): its writer and the health
   * of endpoints it keeps, so an unchanged writer is not announced again as a change.
   */
  seed?: { writer: string | undefined; healths: readonly TargetHealth[] };
}

export interface WriterChange {
  writer: string | undefined;
  generation: number;
  healths: TargetHealth[];
}

export class TargetMonitor extends EventEmitter<{ change: [WriterChange]; round: [TargetHealth[]] }> {
  private healths: TargetHealth[];
  private writer: string | undefined;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  /** A round is running. */
  private probing = false;
  /** Someone saw the writer fail: probe at once (or right after the running round), then fast. */
  private suspected = false;
  private lastRoundAt = -Infinity;

  constructor(private readonly o: MonitorOptions) {
    super();
    const seeded = new Map((o.seed?.healths ?? []).map((h) => [h.endpoint, h]));
    this.healths = o.endpoints.map((e) => ({ ...(seeded.get(e) ?? initialHealth(e)) }));
    const w = o.seed?.writer;
    if (w !== undefined && o.endpoints.includes(w)) this.writer = w;
  }

  /** Probes at once, then every `intervalMs` (fast while the writer is in doubt) until stop(). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * A database connection to the writer was refused or reset: probe every candidate now instead of
   * at the next interval, and keep probing fast until a writer answers again.
   */
  suspect(): void {
    this.suspected = true;
    if (!this.started || this.stopped || this.probing) return;
    this.schedule(this.soonest());
  }

  /** Suspicions come in bursts (every refused connection of every pool): at most one round per fast interval. */
  private soonest(): number {
    return Math.max(0, this.lastRoundAt + FAST_ROUND_MS - Date.now());
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), delayMs);
    this.timer.unref();
  }

  snapshot(): TargetHealth[] {
    return this.healths.map((h) => ({ ...h }));
  }

  /** The writer picked by the last round (undefined until one is available) and its generation. */
  current(): { writer: string | undefined; generation: number } {
    return { writer: this.writer, generation: this.generation };
  }

  private probeOne(endpoint: string): Promise<ProbeResult> {
    if (this.o.probe) return this.o.probe(endpoint);
    const { host, port } = parseHostPort(endpoint);
    const opts = { host, port, user: this.o.user, password: this.o.password, timeoutMs: this.o.timeoutMs, tls: this.o.tls?.() };
    return probeEndpoint(this.o.database ? { ...opts, database: this.o.database } : opts);
  }

  private async round(): Promise<void> {
    this.probing = true;
    this.lastRoundAt = Date.now();
    // A suspicion raised while this round runs is answered by the next one.
    this.suspected = false;
    // A probe that throws (bad endpoint string, a bug) counts as a failed probe: the loop must go on.
    const results = await Promise.all(
      this.o.endpoints.map((ep) =>
        Promise.resolve()
          .then(() => this.probeOne(ep))
          .catch((err: unknown): ProbeResult => ({ ok: false, reason: 'CONNECTION_FAILED', message: String((err as Error)?.message ?? err) })),
      ),
    );
    this.probing = false;
    if (this.stopped) return;
    this.healths = this.healths.map((h, i) => nextHealth(h, results[i]!, this.o.failureThreshold));
    const writer = pickWriter(this.healths, this.writer);
    if (writer !== this.writer) {
      this.writer = writer;
      if (writer !== undefined) this.generation++;
      this.emit('change', { writer, generation: this.generation, healths: this.snapshot() });
    }
    this.emit('round', this.healths);
    // A writer that just answered clears a suspicion raised before it was probed, not one raised since.
    const doubt = writerInDoubt(this.healths, this.writer, this.suspected);
    this.schedule(this.suspected ? this.soonest() : roundDelayMs(doubt, this.o.intervalMs));
  }
}
