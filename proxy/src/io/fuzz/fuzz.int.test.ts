/**
 * A bounded fuzz run of the native I/O core under AddressSanitizer: builds the ASAN addon
 * (bin/build-native --asan, idempotent), starts a real PostgreSQL 15 (trust) and runs the driver
 * (fuzz/main.ts, from dist/) for 20 s in one node process with libasan preloaded. The driver fuzzes
 * raw relays over the core and a ProxyServer on it under a checked workload with hostile clients;
 * see its header. Passing means: exit 0 (every check held) and no AddressSanitizer report.
 * Skipped, saying why, where the ASAN build cannot be made or gcc's libasan is missing.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres, type PgInstance } from '../../testing/postgres.js';
import { waitFor } from '../../testing/wait.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DRIVER = path.join(ROOT, 'dist/proxy/src/io/fuzz/main.js');
const ASAN_ADDON = path.join(ROOT, '.cache/native-asan/build/Release/dbproxy_io.node');
const FUZZ_SECONDS = 20;

/** gcc's libasan.so, or undefined (gcc prints the bare name when it has none). */
function libasan(): string | undefined {
  try {
    const p = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
    return path.isAbsolute(p) && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the ASAN addon (nothing to do when it is current); a reason when it cannot. */
async function buildAsan(): Promise<string | undefined> {
  try {
    await promisify(execFile)(path.join(ROOT, 'bin/build-native'), ['--asan'], { cwd: ROOT, timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return `bin/build-native --asan failed: ${(e.stderr || e.message).trim()}`;
  }
  return existsSync(ASAN_ADDON) ? undefined : `bin/build-native --asan made no ${ASAN_ADDON}`;
}

/** The newest mtime of the driver's sources (this folder's .ts files, tests aside). */
function sourcesMtime(): number {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  return Math.max(...files.map((f) => statSync(path.join(dir, f)).mtimeMs));
}

const tail = (s: string, n = 6_000): string => (s.length > n ? `…${s.slice(-n)}` : s);

describe('the native I/O core under AddressSanitizer', () => {
  let db: PgInstance | undefined;
  afterAll(() => db?.stop());

  it(`survives ${FUZZ_SECONDS} s of relay and proxy fuzzing with every check holding`, async (ctx) => {
    const asan = libasan();
    if (!asan) {
      console.warn('native-fuzz: skipped: gcc has no libasan.so (gcc -print-file-name=libasan.so); install gcc with its sanitizer runtime');
      ctx.skip('no libasan.so from gcc');
    }
    const why = await buildAsan();
    if (why) {
      console.warn(`native-fuzz: skipped: the AddressSanitizer build of the native core cannot be made: ${why}`);
      ctx.skip('the ASAN build of the native core cannot be made');
    }
    if (!existsSync(DRIVER)) throw new Error(`${DRIVER} is missing: run make build (the test runs the compiled driver)`);
    if (sourcesMtime() > statSync(DRIVER).mtimeMs) console.warn(`native-fuzz: ${DRIVER} is older than its source: run make build`);

    db = await startPostgres({ authMethod: 'trust' });
    const child = spawn(process.execPath, [DRIVER], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LD_PRELOAD: asan,
        ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
        DBPROXY_NATIVE_ADDON: ASAN_ADDON,
        FUZZ_SECONDS: String(FUZZ_SECONDS),
        FUZZ_REQUIRE_ASAN: '1',
        PGHOST: db.host,
        PGPORT: String(db.port),
        PGUSER: 'postgres',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('close', (code, signal) => (exit = { code, signal }));
    const output = () => `exit ${exit ? (exit.code ?? exit.signal) : 'none'}\n--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`;
    try {
      // The driver's own watchdog ends it FUZZ_SECONDS + 30 s in; this bound is only a backstop
      // (for a driver whose loop is blocked, so that its watchdog cannot run).
      await waitFor(() => exit, 'the fuzz driver to exit', { timeoutMs: (FUZZ_SECONDS + 45) * 1000, intervalMs: 100 });
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message} (killed it):\n${output()}`);
    }
    const out = output();
    expect(stderr, `AddressSanitizer reported an error:\n${out}`).not.toContain('AddressSanitizer');
    expect(exit!.code, `the fuzz driver failed:\n${out}`).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary['asan'], out).toBe(true);
    expect(summary['workloadFailures'], out).toBe(0);
    expect(summary['echoFailures'], out).toBe(0);
    expect(summary['proxyAnswers'], out).toBe(true);
    // It did fuzz: each part ran.
    expect(summary['relayConnections'] as number, out).toBeGreaterThan(0);
    expect(summary['hostileConnections'] as number, out).toBeGreaterThan(0);
    expect(summary['workloadTransactions'] as number, out).toBeGreaterThan(0);
  }, 120_000);
});
