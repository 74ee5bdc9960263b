/**
 * Re-reads the config file when it changes. Watches directories, not files, so editors' save-by-
 * rename and Kubernetes' symlink swaps (ConfigMap/Secret volumes) are seen; the users file's
 * directory is watched too, since its users are part of the config. Events are debounced, and a
 * slow poll catches whatever the watcher misses (network filesystems, a deleted directory).
 * Only a config that differs from the last one delivered is delivered; an invalid file is reported
 * once (until it changes) and the running config is kept.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { loadConfigFile } from '../../../contract/config/load.js';
import type { ProxyConfig } from '../../../contract/config/schema.js';

export interface WatchOptions {
  /** The config already running (so a change made while the watcher starts is not missed). */
  initial?: ProxyConfig;
  debounceMs?: number;
  pollMs?: number;
}

const DEBOUNCE_MS = 100;
const POLL_MS = 5_000;

export function watchConfigFile(file: string, onChange: (cfg: ProxyConfig) => void, onError: (err: Error) => void, opts: WatchOptions = {}): () => void {
  const abs = path.resolve(file);
  let lastGood = opts.initial ? JSON.stringify(opts.initial) : undefined;
  let lastError: string | undefined;
  let stopped = false;
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  const watchers = new Map<string, FSWatcher>();

  const report = (err: Error): void => {
    if (stopped || err.message === lastError) return;
    lastError = err.message;
    onError(err);
  };

  const checkOnce = async (): Promise<void> => {
    let cfg: ProxyConfig;
    try {
      cfg = await loadConfigFile(abs);
    } catch (err) {
      report(err as Error);
      return;
    }
    if (stopped) return;
    lastError = undefined;
    watchDir(path.dirname(abs));
    if (cfg.auth.usersFile) watchDir(path.dirname(cfg.auth.usersFile));
    const key = JSON.stringify(cfg);
    if (key === lastGood) return;
    const first = lastGood === undefined;
    lastGood = key;
    if (first) return; // the baseline: what is already running
    try {
      onChange(cfg);
    } catch (err) {
      report(err as Error);
    }
  };

  /** One check at a time; a request during a check runs one more afterwards. */
  const check = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again && !stopped);
      running = false;
    })();
  };

  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(check, opts.debounceMs ?? DEBOUNCE_MS);
  };

  function watchDir(dir: string): void {
    if (stopped || watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', (err) => {
        w.close();
        watchers.delete(dir); // the next check (from the poll) watches it again
        report(new Error(`watching ${dir} failed (polling continues): ${err.message}`));
      });
      watchers.set(dir, w);
    } catch (err) {
      report(new Error(`cannot watch ${dir} (polling continues): ${(err as Error).message}`));
    }
  }

  watchDir(path.dirname(abs));
  if (opts.initial?.auth.usersFile) watchDir(path.dirname(opts.initial.auth.usersFile));
  check();
  const poll = setInterval(check, opts.pollMs ?? POLL_MS);
  poll.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(poll);
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}
