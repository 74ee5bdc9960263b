// The hostile-client fuzz: the weighted scenario table (FUZZ_HOSTILE filters it) and its workers.
import { Hostile, type Scenario } from './hostile-client.js';
import { HOSTILE_ONLY } from './knobs.js';
import type { Rng } from './random.js';
import { bump, doing, failure, stats } from './report.js';
import { afterStartup, midCopy, midTransaction, oversized, pipelineAndVanish, slowReader } from './scenarios-session.js';
import { cancel, garbage, oneByteAtATime, preStartup } from './scenarios-startup.js';

/** Scenarios by name and weight (how often each is picked, relative to the others). */
export type ScenarioTable = [string, number, Scenario][];

/** The fuzz's scenarios. */
export const HOSTILE: ScenarioTable = [
  ['garbage', 8, garbage],
  ['pre-startup', 12, preStartup],
  ['after-startup', 16, afterStartup],
  ['mid-transaction', 14, midTransaction],
  ['mid-copy', 10, midCopy],
  ['oversized', 10, oversized],
  ['slow-reader', 8, slowReader],
  ['pipeline-and-vanish', 8, pipelineAndVanish],
  ['cancel', 6, cancel],
  ['one-byte-at-a-time', 4, oneByteAtATime],
];
const HOSTILE_RUN = HOSTILE.filter(([name]) => !HOSTILE_ONLY || HOSTILE_ONLY.includes(name));

function pickScenario(rng: Rng, table: ScenarioTable): [string, number, Scenario] {
  let r = rng.int(table.reduce((n, [, w]) => n + w, 0));
  return table.find(([, w]) => (r -= w) < 0)!;
}

/** One hostile worker: scenario after scenario (from `table`) against the proxy at `port` until the deadline. */
export async function hostileWorker(name: string, rng: Rng, port: number, deadline: number, table: ScenarioTable = HOSTILE_RUN): Promise<void> {
  while (Date.now() < deadline) {
    const [scenario, , run] = pickScenario(rng, table);
    bump(stats.hostile.scenarios, scenario);
    doing.set(name, scenario);
    const h = new Hostile(port);
    h.scenario = scenario;
    // Every hostile connection lives a bounded, random time: it may be cut at any stage.
    const cap = setTimeout(
      () => {
        h.note('lifetime cap: destroy');
        h.socket.destroy();
      },
      rng.between(100, 5_000),
    );
    try {
      if (await h.until(() => h.connected, 3_000)) await run(h, rng, port);
    } catch (err) {
      failure('driver', `hostile ${scenario}: ${(err as Error).stack}`);
    } finally {
      await h.leave(rng);
      clearTimeout(cap);
    }
  }
  doing.delete(name);
}
