/**
 * Micro-benchmark of the pinning classifier: nanoseconds per statement for the fast path, the
 * tokenizer path and libpg-query (the real PostgreSQL parser compiled to WASM), on a corpus shaped
 * like real traffic. The numbers and the decision they support are in docs/pinning.md.
 *
 * Run after `npm run build`: node dist/proxy/bench/classifier-bench.js
 * (or compile just this file: npx tsc … --outDir .cache/h2 and run it from there).
 * CLASSIFIER_BENCH_MS (default 1000) is the time budget per row, split in five rounds (best one kept).
 */
import { loadModule, parseSync, scanSync } from 'libpg-query';
import { classify, classifySlow, decide, isFastPlain } from '../src/pinning/index.js';

const BUDGET_MS = Number(process.env['CLASSIFIER_BENCH_MS'] ?? 1000);

/** What applications send: pgbench, ORMs (quoted names, $n parameters), drivers' session setup. */
const FAST_CORPUS = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = $1;',
  'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;',
  'UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;',
  'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP);',
  'SELECT "public"."User"."id", "public"."User"."email", "public"."User"."name" FROM "public"."User" WHERE ("public"."User"."email" = $1 AND 1=1) LIMIT $2 OFFSET $3',
  'select "orders"."id", "orders"."total", "items"."sku" from "orders" inner join "items" on "items"."order_id" = "orders"."id" where "orders"."customer_id" = $1 order by "orders"."created_at" desc limit 50',
  "SELECT id, name FROM products WHERE category = 'books' AND price < 20 ORDER BY name",
  "WITH recent AS (SELECT * FROM events WHERE ts > now() - interval '1 hour') SELECT kind, count(*) FROM recent GROUP BY kind",
  'DELETE FROM sessions WHERE expires_at < $1',
  'select 1',
];

const SLOW_CORPUS = [
  'BEGIN',
  'COMMIT',
  'SET search_path TO app, public',
  "SET LOCAL statement_timeout = '5s'",
  "SELECT set_config('app.tenant_id', '42', false)",
  "select set_config('request.jwt.claims', $1, true)",
  'SELECT pg_advisory_lock(42)',
  'select pg_advisory_xact_lock(hashtext($1))',
  "/* traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' */ SELECT * FROM accounts WHERE id = $1",
  "SET application_name = 'web'; SET TIME ZONE 'UTC'; SELECT 1",
  "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'x') THEN RAISE NOTICE 'missing'; END IF; END $$",
  'create temp table scratch (id int, v text) on commit drop',
];

/** The best of five rounds: on a shared machine the minimum is the figure least disturbed by others. */
function nsPerOp(items: readonly string[], fn: (s: string) => unknown): number {
  for (let k = 0; k < 2000; k++) fn(items[k % items.length]!); // warm up the JIT
  let best = Infinity;
  for (let r = 0; r < 5; r++) best = Math.min(best, round(items, fn, BUDGET_MS / 5));
  return best;
}

function round(items: readonly string[], fn: (s: string) => unknown, ms: number): number {
  let sink = 0;
  const budget = BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let ops = 0;
  let now = start;
  // Bounded: stops at the time budget or 50M operations, whichever comes first.
  while (now - start < budget && ops < 50_000_000) {
    for (const s of items) sink += fn(s) ? 1 : 0;
    ops += items.length;
    now = process.hrtime.bigint();
  }
  if (sink < 0) console.log(sink);
  return Number(now - start) / ops;
}

async function main(): Promise<void> {
  const all = [...FAST_CORPUS, ...SLOW_CORPUS];
  const notFast = FAST_CORPUS.filter((s) => !isFastPlain(s));
  if (notFast.length > 0) throw new Error(`expected on the fast path: ${notFast.join(' | ')}`);

  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  await loadModule();
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  parseSync('select 1');
  const loadMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;

  const rows: [string, string, number][] = [
    ['fast path (isFastPlain)', 'common statements', nsPerOp(FAST_CORPUS, isFastPlain)],
    ['classify + decide', 'common statements', nsPerOp(FAST_CORPUS, (s) => decide(classify(s), FILTERS))],
    ['tokenizer path (classifySlow)', 'common statements', nsPerOp(FAST_CORPUS, classifySlow)],
    ['tokenizer path (classifySlow)', 'session/other statements', nsPerOp(SLOW_CORPUS, classifySlow)],
    ['classify + decide', 'whole corpus', nsPerOp(all, (s) => decide(classify(s), FILTERS))],
    ['libpg-query parseSync', 'common statements', nsPerOp(FAST_CORPUS, parseSync)],
    ['libpg-query parseSync', 'session/other statements', nsPerOp(SLOW_CORPUS, parseSync)],
    ['libpg-query scanSync (lexer only)', 'whole corpus', nsPerOp(all, scanSync)],
  ];
  console.log(`Node ${process.version}, ${FAST_CORPUS.length} common + ${SLOW_CORPUS.length} other statements, ${BUDGET_MS} ms per row`);
  console.log(`libpg-query loadModule (once): ${loadMs.toFixed(1)} ms, +${loadMiB.toFixed(1)} MiB RSS`);
  console.log(
    `load average: ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  console.log('| what | corpus | ns per statement |');
  console.log('|---|---|---:|');
  for (const [what, corpus, ns] of rows) console.log(`| ${what} | ${corpus} | ${Math.round(ns).toLocaleString('en-US')} |`);
}

const FILTERS: ReadonlySet<string> = new Set(['EXCLUDE_VARIABLE_SETS']);

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
