/**
 * The client leg's serving certificate, kept current: the files' directories are watched (a mounted
 * Secret changes by kubelet swapping its `..data` symlink, so the file itself is never written) and
 * polled as a fallback; changed bytes that check out replace the SecureContext for new handshakes.
 * Connected clients keep the TLS session they have. Bytes that do not check out are logged and the
 * running certificate stays: never plaintext, never a crash.
 */
import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { buildTls, digestOf, loadTls, readTlsFiles, type LoadedTls, type TlsConfig, type TlsFiles } from './client-tls.js';

/** Poll this often: a missed or unsupported watch event still gets the new certificate. */
export const TLS_POLL_MS = 10_000;
/** Events come in bursts (a swap is several renames; an overwrite is truncate then write). */
export const TLS_DEBOUNCE_MS = 100;

export type ReloadResult = 'success' | 'failure';

export interface ReloaderOptions {
  log: Logger;
  pollMs?: number;
  debounceMs?: number;
  /** Whether fs.watch is used (tests of the poll turn it off). */
  watch?: boolean;
  onReload?: (result: ReloadResult) => void;
}

export class ClientTlsReloader {
  private config: TlsConfig | undefined;
  private current: LoadedTls | undefined;
  /** The digest of the last bytes tried, good or bad: the same broken bytes are reported once. */
  private lastTried: string | undefined;
  private watchers: FSWatcher[] = [];
  private poller: NodeJS.Timeout | undefined;
  private debouncer: NodeJS.Timeout | undefined;
  private watchedKey = '';
  private lastError: string | undefined;

  constructor(private readonly opts: ReloaderOptions) {}

  /** The config's tls section, at start and on a config reload: throws when the files do not check out (the config is refused). */
  apply(t: TlsConfig | undefined): void {
    if (!t?.certFile || !t.keyFile) {
      this.close();
      this.config = undefined;
      this.current = undefined;
      return;
    }
    const loaded = loadTls(t);
    this.config = t;
    this.current = loaded;
    this.lastTried = loaded.digest;
    this.lastError = undefined;
    this.watchFiles(t);
  }

  /** The context new handshakes use; undefined without TLS. */
  get context(): tls.SecureContext | undefined {
    return this.current?.context;
  }

  /** The serving certificate and the last refused replacement, for /status. */
  status(): unknown {
    if (!this.current || !this.config) return null;
    return {
      ...this.current.info,
      minVersion: this.config.minVersion,
      clientCertificates: this.config.clientCertificates,
      ...(this.lastError !== undefined ? { lastReloadError: this.lastError } : {}),
    };
  }

  get notAfterSeconds(): number | undefined {
    return this.current?.info.notAfterSeconds;
  }

  /** Re-reads the files; new bytes that check out become the serving certificate. */
  check(): void {
    const t = this.config;
    if (!t) return;
    let files: TlsFiles;
    try {
      files = readTlsFiles(t);
    } catch (err) {
      // Mid-swap a file can be briefly absent; the next event or poll reads it again.
      this.opts.log.debug({ err: (err as Error).message }, 'TLS files not readable; keeping the running certificate');
      return;
    }
    const digest = digestOf(files);
    if (digest === this.lastTried) return;
    this.lastTried = digest;
    try {
      const next = buildTls(t, files);
      const prev = this.current;
      this.current = next;
      this.lastError = undefined;
      this.opts.log.info(
        { fingerprint256: next.info.fingerprint256, notAfter: next.info.notAfter, previous: prev?.info.fingerprint256 },
        'TLS certificate reloaded: new handshakes use it, connected clients keep theirs',
      );
      this.opts.onReload?.('success');
    } catch (err) {
      this.lastError = (err as Error).message;
      this.opts.log.error(
        { err: this.lastError, running: this.current?.info.fingerprint256 },
        'the new TLS certificate files were refused; the running certificate stays',
      );
      this.opts.onReload?.('failure');
    }
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    clearInterval(this.poller);
    clearTimeout(this.debouncer);
    this.poller = undefined;
    this.debouncer = undefined;
    this.watchedKey = '';
  }

  private watchFiles(t: TlsConfig): void {
    const dirs = [...new Set([t.certFile!, t.keyFile!, ...(t.clientCertificates !== 'none' && t.caFile ? [t.caFile] : [])].map((f) => path.dirname(f)))].sort();
    const key = dirs.join('\0');
    if (key === this.watchedKey) return;
    this.close();
    this.watchedKey = key;
    if (this.opts.watch !== false) {
      for (const dir of dirs) {
        try {
          const w = watch(dir, { persistent: false }, () => this.soon());
          w.on('error', (err) => this.opts.log.warn({ dir, err: err.message }, 'watching the TLS directory failed; polling still picks up changes'));
          this.watchers.push(w);
        } catch (err) {
          this.opts.log.warn({ dir, err: (err as Error).message }, 'cannot watch the TLS directory; polling picks up changes');
        }
      }
    }
    this.poller = setInterval(() => this.check(), this.opts.pollMs ?? TLS_POLL_MS);
    this.poller.unref();
  }

  private soon(): void {
    clearTimeout(this.debouncer);
    this.debouncer = setTimeout(() => {
      this.debouncer = undefined;
      this.check();
    }, this.opts.debounceMs ?? TLS_DEBOUNCE_MS);
    this.debouncer.unref();
  }
}
