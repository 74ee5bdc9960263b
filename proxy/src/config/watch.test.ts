import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/wait.js';
import { parseConfigText } from '../../../contract/config/load.js';
import type { ProxyConfig } from '../../../contract/config/schema.js';
import { watchConfigFile, type WatchOptions } from './watch.js';

const config = (pool: number, extra = '') => `targets: [db:5432]\nauth: { method: trust${extra} }\npool: { maxConnections: ${pool} }\n`;

/** How this file waits (bounded; no assertion on how long it took). */
const UNTIL = { timeoutMs: 15_000, intervalMs: 20 };

let stops: (() => void)[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of stops) s();
  stops = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(file: string, text: string, opts: Omit<WatchOptions, 'initial'> = {}) {
  writeFileSync(file, text);
  const changes: ProxyConfig[] = [];
  const errors: Error[] = [];
  const initial = parseConfigText(text, file);
  stops.push(
    watchConfigFile(
      file,
      (c) => changes.push(c),
      (e) => errors.push(e),
      { initial, debounceMs: 20, ...opts },
    ),
  );
  return { changes, errors };
}

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'dbproxy-watch-'));
  dirs.push(d);
  return d;
}

describe('watchConfigFile', () => {
  it('delivers an edited file through the directory watcher (poll effectively off)', async () => {
    const file = path.join(tempDir(), 'proxy.yaml');
    const { changes, errors } = setup(file, config(3), { pollMs: 3_600_000 });
    writeFileSync(file, config(7));
    await waitFor(() => changes.length === 1, 'the changed config', UNTIL);
    expect(changes[0]!.pool.maxConnections).toBe(7);
    expect(errors).toEqual([]);
  });

  it('sees an editor-style save (write a temp file, rename it over)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'proxy.yaml');
    const { changes } = setup(file, config(3));
    writeFileSync(path.join(dir, '.proxy.yaml.swp'), config(9));
    renameSync(path.join(dir, '.proxy.yaml.swp'), file);
    await waitFor(() => changes.length === 1, 'the renamed config', UNTIL);
    expect(changes[0]!.pool.maxConnections).toBe(9);
  });

  it('sees a Kubernetes volume update (the ..data symlink swapped)', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, '..v1'));
    writeFileSync(path.join(dir, '..v1', 'proxy.yaml'), config(3));
    symlinkSync('..v1', path.join(dir, '..data'));
    symlinkSync('..data/proxy.yaml', path.join(dir, 'proxy.yaml'));
    const file = path.join(dir, 'proxy.yaml');
    const changes: ProxyConfig[] = [];
    stops.push(
      watchConfigFile(
        file,
        (c) => changes.push(c),
        () => undefined,
        { initial: parseConfigText(config(3), file), debounceMs: 20 },
      ),
    );
    mkdirSync(path.join(dir, '..v2'));
    writeFileSync(path.join(dir, '..v2', 'proxy.yaml'), config(11));
    symlinkSync('..v2', path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    await waitFor(() => changes.length === 1, 'the swapped config', UNTIL);
    expect(changes[0]!.pool.maxConnections).toBe(11);
  });

  it('reports an invalid file once and keeps going; content equal to the running config is not delivered', async () => {
    const file = path.join(tempDir(), 'proxy.yaml');
    const { changes, errors } = setup(file, config(3));
    writeFileSync(file, config(3)); // same content: nothing to deliver
    writeFileSync(file, 'targets: []\npool: { maxConnections: 0 }\n');
    await waitFor(() => errors.length === 1, 'the error', UNTIL);
    expect(errors[0]!.message).toMatch(/targets: at least one target[\s\S]*pool.maxConnections: must be >= 1/);
    writeFileSync(file, config(3) + '# a comment changes the text, not the config\n');
    writeFileSync(file, config(4));
    await waitFor(() => changes.length >= 1, 'the fixed config', UNTIL);
    expect(changes.map((c) => c.pool.maxConnections)).toEqual([4]);
    expect(errors).toHaveLength(1);
  });

  it('re-reads the users file when it changes', async () => {
    const dir = tempDir();
    const users = path.join(dir, 'users', 'users.txt');
    mkdirSync(path.dirname(users));
    writeFileSync(users, '"app" "one"\n');
    const file = path.join(dir, 'proxy.yaml');
    const { changes } = setup(file, config(3, ', usersFile: users/users.txt'));
    writeFileSync(users, '"app" "two"\n"other" "x"\n');
    await waitFor(() => changes.length === 1, 'the new users', UNTIL);
    expect(changes[0]!.auth.users.map((u) => [u.username, u.password])).toEqual([
      ['app', 'two'],
      ['other', 'x'],
    ]);
  });

  it('falls back to polling, and stops for good when asked', async () => {
    const file = path.join(tempDir(), 'proxy.yaml');
    writeFileSync(file, config(3));
    const changes: ProxyConfig[] = [];
    const initial = parseConfigText(config(3), file);
    // The watcher's debounce is an hour, so only the poll can deliver the edit.
    const stop = watchConfigFile(
      file,
      (c) => changes.push(c),
      () => undefined,
      { initial, debounceMs: 3_600_000, pollMs: 50 },
    );
    stops.push(stop);
    writeFileSync(file, config(5));
    await waitFor(() => changes.length === 1, 'the polled config', UNTIL);
    stop();
    writeFileSync(file, config(6));
    await new Promise((r) => setTimeout(r, 300));
    expect(changes.map((c) => c.pool.maxConnections)).toEqual([5]);
  });
});
