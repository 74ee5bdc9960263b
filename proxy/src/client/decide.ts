/** The pinning decision for a statement's SQL, with a bounded cache of the ones the fast path does not settle. */
import { classify, classifySlow, decide, isFastPlain } from '../pinning/index.js';
import type { SqlDecision } from './context.js';

const CACHE_LIMIT = 10_000;
const MAX_CACHED_LENGTH = 4096;

/**
 * The classifier and the pinning filters, as the session needs them. Statements the fast path
 * settles cost almost nothing and are usually unique (literals inline), so they are not cached; the
 * ones that need the tokenizer (SET, BEGIN, DDL, …) repeat from ORMs and drivers, so those are.
 */
export class SqlDecider {
  private cache = new Map<string, SqlDecision>();
  /** What the fast path's "plain" decides (the same shared, frozen decision for every such statement). */
  private readonly plain: SqlDecision;

  constructor(private readonly filters: ReadonlySet<string>) {
    this.plain = decide(classify('SELECT 1'), filters);
  }

  decide(sql: string): SqlDecision {
    // The fast path first: a cache look-up would hash every (usually unique) plain statement.
    if (isFastPlain(sql)) return this.plain;
    const cached = this.cache.get(sql);
    if (cached) return cached;
    const d = decide(classifySlow(sql), this.filters);
    if (sql.length <= MAX_CACHED_LENGTH) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(sql, d);
    }
    return d;
  }
}
