/**
 * The entry of the native I/O core's fuzz driver: the run's watchdog, setup, workers and summary.
 *
 * A bounded fuzz run of the native I/O core (proxy/native/src/io.c), for a process that has its
 * AddressSanitizer build loaded (fuzz.int.test.ts starts it so: LD_PRELOAD of libasan,
 * DBPROXY_NATIVE_ADDON pointing at .cache/native-asan). Two things run side by side on the one core
 * for FUZZ_SECONDS (default 20), with choices from FUZZ_SEED (printed; random when not given):
 *
 *  - raw relay: native connections to a Node echo server and to an echo server on native-adopted
 *    accepted sockets, and Node clients to the latter; random payload sizes cut at random points,
 *    pause/resume, backpressure kept or ignored, end with bytes still queued, destroy mid-stream, the
 *    server killing the connection mid-stream, a hand-over to a Node socket (the TLS path), bursts
 *    that grow the core's connection table, refused connects and the queue's hard cap. Every byte
 *    echoed is checked, in order, as it arrives; close is reported once, nothing after it.
 *  - proxy: a ProxyServer with io 'native' in this process, in front of PostgreSQL at PGHOST:PGPORT
 *    (user postgres, trust). A few `pg` clients run a checked workload (selects, transactions,
 *    payloads larger than the read buffer) while hostile raw sockets send garbage, truncated,
 *    oversized and mutated protocol messages at random split points and stages, and vanish.
 *
 * The last line on stdout is a JSON summary. Exit 0 only when every echo check passed, the workload
 * had no failure, the proxy let go of every client and still answers a fresh `SELECT 1`. A watchdog
 * ends a hung run (FUZZ_SECONDS + 30 s) with exit 3. An ASAN report aborts the process by itself.
 * When the proxy logs an error about a hostile client, that client's transcript is printed with it.
 *
 * To narrow a finding down: FUZZ_PARTS (relay,hostile,workload), FUZZ_HOSTILE (scenario names),
 * FUZZ_PROXY_IO=node (the proxy part over Node's sockets: a failure there too is not the core's),
 * FUZZ_SHARED_POOL=1 (hostile clients in the workload's pool), FUZZ_LOG_LEVEL (the proxy's, default
 * warn); FUZZ_REQUIRE_ASAN=1 fails the run unless libasan and DBPROXY_NATIVE_ADDON are the ones mapped.
 * (The knobs are read in knobs.ts.)
 */
import { freePort } from '../../testing/ports.js';
import { checkAfterRun, checkCore } from './checks.js';
import { closeRelayServers, startRelayServers } from './echo-servers.js';
import { hostileWorker } from './hostile.js';
import { HOSTILE_WORKERS, PG_HOST, PG_PORT, RELAY_WORKERS, SECONDS, SEED, WORKLOAD_CLIENTS } from './knobs.js';
import { prepareDatabase, startProxy } from './proxy.js';
import { Rng } from './random.js';
import { relayWorker } from './relay.js';
import { failure, failures, progress, summary } from './report.js';
import { pgConnect, workloadWorker } from './workload.js';

process.on('uncaughtException', (err) => failure('uncaught', err.stack ?? String(err)));
process.on('unhandledRejection', (err) => failure('uncaught', `unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));

/** Ends a hung run with exit 3, FUZZ_SECONDS + 30 s after it started; prints progress every 5 s. */
function startWatchdog(start: number): void {
  setTimeout(
    () => {
      process.stderr.write(`native-fuzz: watchdog: the run did not finish ${SECONDS + 30} s after it started (seed ${SEED}); ${progress()}\n`);
      process.exit(3);
    },
    (SECONDS + 30) * 1000,
  );
  const ticker = setInterval(() => console.log(`native-fuzz: ${Math.round((Date.now() - start) / 1000)} s ${progress()}`), 5_000);
  ticker.unref();
}

async function main(): Promise<number> {
  const start = Date.now();
  const deadline = start + SECONDS * 1000;
  startWatchdog(start);
  console.log(`native-fuzz: seed ${SEED} (FUZZ_SEED=${SEED} repeats its choices, not their timing), ${SECONDS} s`);
  if (!Number.isInteger(PG_PORT) || PG_PORT <= 0) {
    console.error('native-fuzz: PGPORT (and PGHOST, default 127.0.0.1) must name a PostgreSQL that trusts user postgres');
    return 2;
  }
  const { asan, ok } = checkCore();
  if (!ok) return 1;

  const rng = new Rng(SEED);
  const servers = await startRelayServers(rng);
  const refusedPort = await freePort();
  const direct = await pgConnect(PG_PORT, PG_HOST);
  await prepareDatabase(direct);
  const { server, port } = await startProxy();

  // Everything at once, on the one core, until the deadline.
  const [, , workload] = await Promise.all([
    Promise.all(Array.from({ length: RELAY_WORKERS }, (_, i) => relayWorker(`relay${i}`, rng.fork(), servers, refusedPort, deadline, start))),
    Promise.all(Array.from({ length: HOSTILE_WORKERS }, (_, i) => hostileWorker(`hostile${i}`, rng.fork(), port, deadline))),
    Promise.all(Array.from({ length: WORKLOAD_CLIENTS }, (_, i) => workloadWorker(`workload${i}`, i + 1, rng.fork(), port, deadline, direct))),
  ]);

  const proxyAnswers = await checkAfterRun(server, port, direct, workload);
  await direct.end();
  await server.shutdown(2_000);
  closeRelayServers(servers);

  console.log(JSON.stringify(summary(start, asan, proxyAnswers)));
  return failures.length === 0 && proxyAnswers ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`native-fuzz: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
