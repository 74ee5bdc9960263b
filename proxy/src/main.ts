/**
 * `dbproxy proxy`: from a config file (re-read on change), from quick-mode flags, or — in a pod — from
 * its config Secret watched through the Kubernetes API.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
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
  const bootLog = pino({ level: process.env['LOG_LEVEL'] ?? 'info' });

  let server: ProxyServer;
  let stopWatching: () => void = () => {};
  if (secret !== undefined) {
    ({ server, stop: stopWatching } = await fromSecret(secret, bindHost, bootLog));
  } else {
    const parsed = parseProxyArgs(argv, process.env);
    const config = parsed.configFile ? await loadConfigFile(parsed.configFile) : parsed.config!;
    const log = pino({ level: config.logLevel });
    server = new ProxyServer(config, log, bindHost);
    const file = parsed.configFile;
    if (file) server.reloadSource = () => loadConfigFile(file); // the admin console's RELOAD
    if (file) server.configState.from(`file ${path.resolve(file)}`);
    await server.start();
    if (file) {
      stopWatching = watchConfigFile(
        file,
        (next) => server.applyConfig(next),
        (err) => {
          server.configState.refused(problemsOf(err));
          log.error({ err: err.message }, 'config file rejected; keeping the previous config');
        },
        { initial: config },
      );
    }
  }
  onSignals(async () => {
    stopWatching();
    await server.shutdown(Number(process.env['DBPROXY_SHUTDOWN_GRACE_MS'] ?? 30_000));
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
        const cfg = parseConfig(parseYaml(text), source);
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
  server = new ProxyServer(cfg, pino({ level: cfg.logLevel }), bindHost);
  server.configState.from(source, version);
  // The admin console's RELOAD reads the Secret now (the watch delivers changes on its own anyway).
  server.reloadSource = async () => parseConfig(parseYaml(await readConfigSecret(kc, namespace, name)), source);
  await server.start();
  return { server, stop: () => watch.stop() };
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
