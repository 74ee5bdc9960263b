/**
 * Re-reads the config file when it changes. Watches the directory, not the file, so editors' save-by-
 * rename and Kubernetes' symlink swaps (ConfigMap/Secret volumes) are seen; a slow poll backs it up.
 * An invalid new file is reported and the running config is kept.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseConfigText } from './load.js';
import type { ProxyConfig } from './schema.js';

const DEBOUNCE_MS = 100;
const POLL_MS = 5_000;

export function watchConfigFile(file: string, onChange: (cfg: ProxyConfig) => void, onError: (err: Error) => void): () => void {
  let last: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  void readFile(file, 'utf8').then(
    (t) => (last ??= t),
    () => undefined,
  );
  const check = (): void => {
    readFile(file, 'utf8').then(
      (text) => {
        if (stopped || text === last) return;
        last = text;
        try {
          onChange(parseConfigText(text, file));
        } catch (err) {
          onError(err as Error);
        }
      },
      (err: Error) => {
        if (!stopped) onError(new Error(`cannot read ${file}: ${err.message}`));
      },
    );
  };
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.dirname(path.resolve(file)), schedule);
    watcher.on('error', (err) => onError(err));
  } catch (err) {
    onError(err as Error);
  }
  const poll = setInterval(check, POLL_MS);
  poll.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(poll);
    watcher?.close();
  };
}
