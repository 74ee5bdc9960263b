/**
 * `dbproxy proxy`: from a config file (re-read on change), from quick-mode flags, or — in a pod — from
 * its config Secret watched through the Kubernetes API.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../../contract/log.js';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfigFile, parseConfig } from '../../contract/config/load.js';
import { KUBE_USAGE, parseProxyArgs, PROXY_USAGE } from './config/flags.js';
import { watchConfigFile } from './config/watch.js';
import type { ProxyConfig } from '../../contract/config/schema.js';
import { ProxyServer } from './server.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Takes `--name VALUE` / `--name=VALUE` out of argv (flags only this entry point knows). */
function takeFlag(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
      argv.splice(i, 2);
      return v;
    }
    if (a.startsWith(name + '=')) {
      argv.splice(i, 1);
      return a.slice(name.length + 1);
    }
  }
  return undefined;
}

export async function runProxy(args: string[]): Promise<void> {
  const argv = [...args];
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(PROXY_USAGE + KUBE_USAGE);
    return;
  }
  const bindHost = takeFlag(argv, '--bind-host');
  const secret = takeFlag(argv, '--config-secret');
  const bootLog = createLogger({ level: process.env['LOG_LEVEL'] ?? 'info' });

  let server: ProxyServer | undefined;
  let stopWatching: () => void = () => {};
  // Before anything is loaded: Node's default for SIGHUP is to exit, which a reload must never do.
  onReloadSignal(() => server, bootLog);
  if (secret !== undefined) {
    ({ server, stop: stopWatching } = await fromSecret(secret, bindHost, bootLog));
  } else {
    const parsed = parseProxyArgs(argv, process.env);
    const config = parsed.configFile ? await loadConfigFile(parsed.configFile) : parsed.config!;
    const log = createLogger({ level: config.logLevel });
    const s = new ProxyServer(config, log, bindHost);
    server = s;
    const file = parsed.configFile;
    if (file) s.reloadSource = () => loadConfigFile(file); // the admin console's RELOAD, and SIGHUP
    if (file) s.configState.from(`file ${path.resolve(file)}`);
    await s.start();
    if (file) {
      stopWatching = watchConfigFile(
        file,
        (next) => s.applyConfig(next),
        (err) => {
          s.configState.refused(problemsOf(err));
          log.error({ err: err.message }, 'config file rejected; keeping the previous config');
        },
        { initial: config },
      );
    }
  }
  const running = server;
  onSignals(async () => {
    stopWatching();
    // DBPROXY_SHUTDOWN_GRACE_MS (older releases' knob) overrides shutdown.drainTimeout when set.
    const grace = process.env['DBPROXY_SHUTDOWN_GRACE_MS'];
    await running.shutdown(grace === undefined ? undefined : Number(grace));
  });
}

async function fromSecret(name: string, bindHost: string | undefined, log: Logger): Promise<{ server: ProxyServer; stop: () => void }> {
  const { readConfigSecret, watchConfigSecret } = await import('./config/kube-source.js');
  const { loadKubeConfig } = await import('../../contract/kube/kube.js');
  const namespace = process.env['POD_NAMESPACE'] ?? readServiceAccountNamespace();
  let server: ProxyServer | undefined;
  let first: (got: { cfg: ProxyConfig; version: string | undefined }) => void;
  const firstConfig = new Promise<{ cfg: ProxyConfig; version: string | undefined }>((resolve) => (first = resolve));
  const kc = loadKubeConfig();
  const source = `Secret ${namespace}/${name}`;
  const watch = watchConfigSecret({
    kc,
    namespace,
    name,
    log,
    onConfig: (text, version) => {
      try {
        const cfg = parseSecretConfig(text, source);
        if (server) server.applyConfig(cfg, version);
        else first({ cfg, version });
      } catch (err) {
        server?.configState.refused(problemsOf(err as Error), version);
        log.error({ err: (err as Error).message, version }, 'config Secret rejected; keeping the previous config');
      }
    },
    onSameConfig: (version) => {
      if (version !== undefined) server?.configState.unchanged(version);
    },
    onError: (err) => log.warn({ err: err.message }, 'watching the config Secret failed; retrying'),
  });
  const { cfg, version } = await firstConfig;
  server = new ProxyServer(cfg, createLogger({ level: cfg.logLevel }), bindHost, { kc, namespace });
  server.configState.from(source, version);
  // The admin console's RELOAD reads the Secret now (the watch delivers changes on its own anyway).
  server.reloadSource = async () => parseSecretConfig(await readConfigSecret(kc, namespace, name), source);
  await server.start();
  return { server, stop: () => watch.stop() };
}

/**
 * The config Secret's text as a config. A YAML error keeps only its first line: the rest is a frame
 * of the text around the error, and the text holds passwords (the problems go to the log and /config).
 */
function parseSecretConfig(text: string, source: string): ProxyConfig {
  let obj: unknown;
  try {
    obj = parseYaml(text);
  } catch (err) {
    throw new ConfigError(source, [`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(obj, source);
}

/** A refused config's problems, one per line as the loader lists them. */
function problemsOf(err: Error): string[] {
  return err instanceof ConfigError ? err.problems : [err.message];
}

function readServiceAccountNamespace(): string {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    throw new UsageError('--config-secret needs the namespace: set POD_NAMESPACE or run in a pod');
  }
}

/**
 * SIGHUP re-reads the config (the file, or the Secret) and applies it as a change the watcher saw;
 * a refused config is logged and the running one kept (reload() records it for /config).
 */
function onReloadSignal(server: () => ProxyServer | undefined, bootLog: Logger): void {
  process.on('SIGHUP', () => {
    const s = server();
    if (!s) return bootLog.warn('SIGHUP before the proxy started: nothing to reload yet');
    if (!s.reloadSource) return s.log.warn('SIGHUP: this proxy runs from command-line flags, there is no config file or Secret to re-read');
    s.log.info('SIGHUP: re-reading the config');
    s.reload().then(
      () => {},
      (err: Error) => s.log.error({ err: err.message }, 'SIGHUP: config rejected; keeping the previous config'),
    );
  });
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`received ${signal}: draining (send again to exit at once)\n`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
