// The fuzz driver's environment knobs (FUZZ_*, PGHOST/PGPORT) and the fixed sizes they imply.
import { randomInt } from 'node:crypto';

export const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 20);
export const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) >>> 0 : randomInt(0, 0xffffffff);
export const PG_HOST = process.env['PGHOST'] ?? '127.0.0.1';
export const PG_PORT = Number(process.env['PGPORT']);
/** The proxy's maxMessageLength here: small, so messages right at the limit can be sent whole. */
export const LIMIT = 1 << 20;
/** FUZZ_PARTS=relay,hostile,workload (the default: all three) runs only some, to narrow a finding down. */
const PARTS = new Set((process.env['FUZZ_PARTS'] ?? 'relay,hostile,workload').split(','));
/**
 * The hostile clients' role: a pool of their own by default, so the workload checks the core and
 * the containment of hostile clients. FUZZ_SHARED_POOL=1 puts them in the workload's pool, where
 * every backend a hostile client leaves behind serves a workload client next: that is how this fuzz
 * found a backend handed on while the server still skipped to Sync and a backend left paused for a
 * client that had gone (both fixed), and one more, rare (about one 20 s run in eight): a workload
 * client's query answered without its CommandComplete, so a backend went back to the pool with a
 * reply still owed after some hostile sequence not yet isolated. Since a backend that sends a reply
 * while nobody holds it is closed, 14 of 14 shared-pool runs passed; the sequence is still unknown.
 */
export const HOSTILE_USER = process.env['FUZZ_SHARED_POOL'] === '1' ? 'postgres' : 'fuzz_hostile';
/** FUZZ_PROXY_IO=node: the same proxy fuzz over Node's sockets, to tell a core bug from a proxy bug. */
export const PROXY_IO = process.env['FUZZ_PROXY_IO'] === 'node' ? 'node' : 'native';
export const RELAY_WORKERS = PARTS.has('relay') ? 6 : 0;
export const WORKLOAD_CLIENTS = PARTS.has('workload') ? 4 : 0;
export const HOSTILE_WORKERS = PARTS.has('hostile') ? 8 : 0;
/** FUZZ_HOSTILE=name,name: only those hostile scenarios (to narrow a finding down). */
export const HOSTILE_ONLY = process.env['FUZZ_HOSTILE']?.split(',');
/** FUZZ_LOG_LEVEL: the proxy's log level (default warn). */
export const LOG_LEVEL = process.env['FUZZ_LOG_LEVEL'] ?? 'warn';
/** FUZZ_REQUIRE_ASAN=1: fail the run unless libasan and DBPROXY_NATIVE_ADDON are the ones mapped. */
export const REQUIRE_ASAN = process.env['FUZZ_REQUIRE_ASAN'] === '1';
