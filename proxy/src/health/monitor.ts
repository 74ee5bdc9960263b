/** Probes target endpoints on an interval and reports when the writer changes. Timers live here. */
import { EventEmitter } from 'node:events';
import { parseHostPort } from '../config/host-port.js';
import { probeEndpoint, type ProbeResult } from './probe.js';
import { initialHealth, nextHealth, pickWriter, type TargetHealth } from './writer.js';

export interface MonitorOptions {
  endpoints: string[];
  intervalMs: number;
  failureThreshold: number;
  timeoutMs: number;
  user: string;
  password: string;
  database?: string;
  probe?: (endpoint: string) => Promise<ProbeResult>;
}

export interface WriterChange {
  writer: string | undefined;
  generation: number;
  healths: TargetHealth[];
}

export class TargetMonitor extends EventEmitter<{ change: [WriterChange] }> {
  private healths: TargetHealth[];
  private writer: string | undefined;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: MonitorOptions) {
    super();
    this.healths = o.endpoints.map(initialHealth);
  }

  private started = false;

  /** Probes at once, then every `intervalMs` until stop(). Calling it again does nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
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
    const opts = { host, port, user: this.o.user, password: this.o.password, timeoutMs: this.o.timeoutMs };
    return probeEndpoint(this.o.database ? { ...opts, database: this.o.database } : opts);
  }

  private async round(): Promise<void> {
    // A probe that throws (bad endpoint string, a bug) counts as a failed probe: the loop must go on.
    const results = await Promise.all(
      this.o.endpoints.map((ep) =>
        Promise.resolve()
          .then(() => this.probeOne(ep))
          .catch((err: unknown): ProbeResult => ({ ok: false, reason: 'CONNECTION_FAILED', message: String((err as Error)?.message ?? err) })),
      ),
    );
    if (this.stopped) return;
    this.healths = this.healths.map((h, i) => nextHealth(h, results[i]!, this.o.failureThreshold));
    const writer = pickWriter(this.healths, this.writer);
    if (writer !== this.writer) {
      this.writer = writer;
      if (writer !== undefined) this.generation++;
      this.emit('change', { writer, generation: this.generation, healths: this.snapshot() });
    }
    this.timer = setTimeout(() => void this.round(), this.o.intervalMs);
    this.timer.unref();
  }
}
