/**
 * The proxy's one owner of its target (the writer new database connections go to) and of its
 * generation: a single configured target is taken as is; several are probed by one TargetMonitor,
 * kept across config reloads that do not change what it probes.
 */
import { EventEmitter } from 'node:events';
import { formatHostPort, parseHostPort } from '../../../contract/config/host-port.js';
import { TargetMonitor, type MonitorOptions } from './monitor.js';
import type { BackendTlsConfig } from '../../../contract/config/schema.js';
import { backendTlsOf } from '../backend/tls-settings.js';
import { readerSet } from '../../../contract/health/readers.js';
import { splitBrain, type TargetHealth } from '../../../contract/health/writer.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface TargetSettings {
  targets: readonly Endpoint[];
  /** Set by the operator; a higher one is a failover flip. */
  targetGeneration: number;
  healthCheck: { interval: number; failureThreshold: number; timeout: number };
  probeUser: { username: string; password: string };
  /** The probes use the database connections' TLS settings; unset: plaintext. */
  backendTls?: BackendTlsConfig;
}

export interface Flip {
  target: Endpoint;
  generation: number;
  /** The first target of the process, not a failover. */
  first: boolean;
  /**
   * The writer is another server than the previous flip's (counted across a lost writer): whatever
   * still runs on the old one is lost either way.
   */
  moved: boolean;
}

export class TargetOwner extends EventEmitter<{ flip: [Flip]; lost: [why: string]; readers: [endpoints: string[]] }> {
  target: Endpoint | undefined;
  generation = 0;
  /** The target of the last flip; unlike `target`, kept while the writer is lost. */
  private lastFlipped: Endpoint | undefined;
  private monitor: TargetMonitor | undefined;
  private monitorKey = '';

  constructor(private readonly probe?: MonitorOptions['probe']) {
    super();
  }

  /** A config (at start or reloaded): the target follows, flipping only when the writer really changes. */
  apply(s: TargetSettings): void {
    if (s.targets.length === 1) {
      if (this.monitor) this.emit('readers', []);
      this.stopMonitor();
      const t = s.targets[0]!;
      const changed = !this.target || this.target.host !== t.host || this.target.port !== t.port;
      if (changed || s.targetGeneration > this.generation) {
        this.flip({ host: t.host, port: t.port }, Math.max(s.targetGeneration, changed && this.target ? this.generation + 1 : s.targetGeneration));
      }
      return;
    }
    const endpoints = s.targets.map((t) => formatHostPort(t.host, t.port));
    const key = JSON.stringify([endpoints, s.healthCheck, s.probeUser, s.backendTls ?? null]);
    if (this.monitor && key === this.monitorKey) return;
    const backendTls = s.backendTls;
    const seed = { writer: this.target ? formatHostPort(this.target.host, this.target.port) : undefined, healths: this.monitor?.snapshot() ?? [] };
    this.stopMonitor();
    const monitor = new TargetMonitor({
      endpoints,
      intervalMs: s.healthCheck.interval,
      failureThreshold: s.healthCheck.failureThreshold,
      timeoutMs: s.healthCheck.timeout,
      user: s.probeUser.username,
      password: s.probeUser.password,
      ...(backendTls ? { tls: () => backendTlsOf(backendTls) } : {}),
      seed,
      ...(this.probe ? { probe: this.probe } : {}),
    });
    monitor.on('change', (c) => this.onWriter(c.writer, c.healths));
    monitor.on('round', (healths) => this.emit('readers', readerSet(healths)));
    this.monitor = monitor;
    this.monitorKey = key;
    monitor.start();
  }

  /** A database connection to the target was refused or reset: probe now, if targets are probed. */
  suspect(): void {
    this.monitor?.suspect();
  }

  /** The health of every probed target, or null with a single configured one. */
  snapshot(): TargetHealth[] | null {
    return this.monitor?.snapshot() ?? null;
  }

  stop(): void {
    this.stopMonitor();
  }

  private onWriter(writer: string | undefined, healths: readonly TargetHealth[]): void {
    if (writer === undefined) {
      if (this.target === undefined) return;
      this.target = undefined;
      const two = splitBrain(healths);
      this.emit(
        'lost',
        two
          ? `several targets are out of recovery (split brain: ${two.join(', ')}); writes go to none of them until only one is`
          : 'no writer is available among the targets',
      );
      return;
    }
    const ep = parseHostPort(writer);
    if (this.target && this.target.host === ep.host && this.target.port === ep.port) return;
    this.flip({ host: ep.host, port: ep.port }, this.generation + 1);
  }

  private flip(target: Endpoint, generation: number): void {
    const first = this.target === undefined && this.generation === 0;
    // After a lost writer every flip is a new generation: pools held since then are released by it.
    if (this.target === undefined && !first) generation = Math.max(generation, this.generation + 1);
    const last = this.lastFlipped;
    const moved = last !== undefined && (last.host !== target.host || last.port !== target.port);
    this.target = target;
    this.lastFlipped = target;
    if (generation > this.generation) this.generation = generation;
    this.emit('flip', { target, generation: this.generation, first, moved });
  }

  private stopMonitor(): void {
    this.monitor?.stop();
    this.monitor = undefined;
    this.monitorKey = '';
  }
}
