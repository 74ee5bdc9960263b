/** Runs the shutdown (drain.ts decides the phases) against the proxy: each step's actions, once. */
import type { Logger } from 'pino';
import { drainStep, type DrainAction, type DrainPhase, type DrainPlan } from './drain.js';

const STEP_MS = 50;

/** What the drain acts on: the proxy server's listeners, clients, pools and admin server. */
export interface DrainTargets {
  log: Logger;
  clients(): number;
  act(action: DrainAction): void;
  /** Last, once the pools are closed. */
  closeAdmin(): Promise<void>;
}

export class DrainRunner {
  /** `serving` until the stop signal. */
  phase: DrainPhase = 'serving';
  private running: Promise<void> | undefined;

  constructor(private readonly t: DrainTargets) {}

  /** Starts the drain; called again, it returns the same one. */
  start(plan: DrainPlan): Promise<void> {
    this.running ??= this.run(plan);
    return this.running;
  }

  private async run(plan: DrainPlan): Promise<void> {
    const { log } = this.t;
    const started = Date.now();
    log.info({ clients: this.t.clients(), ...plan }, 'shutting down: unready now, then draining clients');
    while (this.phase !== 'stopped') {
      const step = drainStep({ phase: this.phase, elapsedMs: Date.now() - started, clients: this.t.clients() }, plan);
      if (step.phase !== this.phase) log.info({ phase: step.phase, clients: this.t.clients() }, 'shutdown phase');
      this.phase = step.phase;
      for (const a of step.actions) this.t.act(a);
      if (this.phase !== 'stopped') await new Promise((r) => setTimeout(r, STEP_MS));
    }
    await this.t.closeAdmin();
    log.info({ ms: Date.now() - started }, 'proxy stopped');
  }
}
