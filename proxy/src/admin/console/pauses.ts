/**
 * PAUSE and RESUME over the pools: which databases are paused (every one, or some by name; pools
 * made later follow), and the PAUSE commands still waiting for their pools' borrowed connections to
 * come back. The gate itself is the pool's (pool.ts `pause`); this keeps the console's view of it.
 */
import { ConsoleError } from './commands.js';

/** A pool as PAUSE sees it (a PoolHandle is one; pool.ts has the gate). */
export interface PausablePool {
  readonly database: string;
  readonly pool: { readonly paused: boolean; pause(drained?: () => void): void; resume(): void };
}

interface Waiting {
  database: string | undefined;
  reject(err: ConsoleError): void;
}

export class Pauses {
  private all = false;
  private readonly databases = new Set<string>();
  private readonly waiting = new Set<Waiting>();

  /** A pool of `database` is to be paused (PAUSE for all, or for it, is in effect). */
  covers(database: string): boolean {
    return this.all || this.databases.has(database);
  }

  /**
   * Pauses the pools of `database` (every pool when undefined): new borrowers queue from now on.
   * Resolves once none of them has a connection borrowed; rejects if a RESUME for them comes first.
   */
  pause(database: string | undefined, pools: Iterable<PausablePool>): Promise<void> {
    if (database === undefined) this.all = true;
    else this.databases.add(database);
    const targets = [...pools].filter((h) => database === undefined || h.database === database);
    return new Promise<void>((resolve, reject) => {
      const entry: Waiting = { database, reject };
      let left = targets.length;
      const done = (): void => {
        this.waiting.delete(entry);
        resolve();
      };
      if (left === 0) return done();
      this.waiting.add(entry);
      for (const h of targets) h.pool.pause(() => --left === 0 && done());
    });
  }

  /** RESUME: every pool (undefined) or those of `database`; refused when that is not paused. */
  resume(database: string | undefined, pools: Iterable<PausablePool>): void {
    if (database === undefined) {
      if (!this.all && this.databases.size === 0) throw new ConsoleError('55000', 'nothing is paused');
      this.all = false;
      this.databases.clear();
    } else {
      if (this.all) throw new ConsoleError('55000', `every database is paused (PAUSE without a name): RESUME without a name resumes them`);
      if (!this.databases.delete(database)) throw new ConsoleError('55000', `database "${database}" is not paused`);
    }
    for (const w of [...this.waiting]) {
      if (database !== undefined && w.database !== database) continue;
      this.waiting.delete(w);
      w.reject(new ConsoleError('57014', 'PAUSE canceled: RESUME was issued while it waited'));
    }
    for (const h of pools) if (h.pool.paused && !this.covers(h.database)) h.pool.resume();
  }
}
