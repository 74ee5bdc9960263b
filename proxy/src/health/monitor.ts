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

  start(): void {
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  snapshot(): TargetHealth[] {
    return this.healths.map((h) => ({ ...h }));
  }

  private async round(): Promise<void> {
    const probe =
      this.o.probe ??
      ((ep: string) => {
        const { host, port } = parseHostPort(ep);
        const opts = { host, port, user: this.o.user, password: this.o.password, timeoutMs: this.o.timeoutMs };
        return probeEndpoint(this.o.database ? { ...opts, database: this.o.database } : opts);
      });
    const results = await Promise.all(this.o.endpoints.map((ep) => probe(ep)));
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
