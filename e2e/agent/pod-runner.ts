/**
 * One pod run as local processes: its own network namespace on the pod bridge, the container's
 * command (images.ts) in it as a process group with the container's env, a service-account
 * kubeconfig, Secret volumes (pod-volumes.ts), probes, restarts with backoff, and the result written
 * to pods/status. All decisions are in the pure modules; this file only does the I/O.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { signalChild, stopChild } from '../cluster/child.js';
import type { Api } from './api.js';
import { expandArgs, resolveEnv } from './expand.js';
import { imageFor, type LocalImage } from './images.js';
import { graceAfterHook, resolvePreStop } from './lifecycle.js';
import { addPodNetwork, removePodNetwork } from './pod-network.js';
import { computePodStatus, restartDelayMs, statusChanged, type ContainerState } from './pod-status.js';
import { PodVolumes } from './pod-volumes.js';
import { describeCheck, resolveProbe, type Probe, type ProbeCheck } from './probe-target.js';
import { podKubeconfigText, requestPodToken, writePodKubeconfig } from './token.js';

export interface RunnerDeps {
  api: Api;
  root: string;
  podsDir: string;
  log: (msg: string) => void;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function probeOnce(c: ProbeCheck, timeoutMs: number, netns: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (c.kind === 'http') {
      const req = http.get(c.url, { timeout: timeoutMs }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    } else if (c.kind === 'tcp') {
      const sock = net.connect({ host: c.host, port: c.port, timeout: timeoutMs }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('timeout', () => sock.destroy());
      sock.on('error', () => resolve(false));
      sock.on('close', () => resolve(false));
    } else {
      execFile('ip', ['netns', 'exec', netns, ...c.command], { timeout: timeoutMs }, (err) => resolve(!err));
    }
  });
}

export class PodRunner {
  private child: ChildProcess | undefined;
  private state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  private lastState: ContainerState | undefined;
  private ready = false;
  private restartCount = 0;
  private stopping = false;
  private timers = new Set<NodeJS.Timeout>();
  private readonly startTime = now();
  private syncing: Promise<void> = Promise.resolve();
  private netns: string | undefined;
  private podDir: string | undefined;
  private volumes: PodVolumes | undefined;
  readonly key: string;

  constructor(
    private pod: V1Pod,
    readonly podIP: string,
    private readonly deps: RunnerDeps,
  ) {
    this.key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
  }

  get uid(): string | undefined {
    return this.pod.metadata?.uid;
  }

  /** The latest pod object from the watch (its status is what we compare against). */
  update(pod: V1Pod): void {
    this.pod = pod;
  }

  start(): void {
    void this.launch();
  }

  private file(ext: string): string {
    return path.join(this.deps.podsDir, `${this.pod.metadata!.namespace}_${this.pod.metadata!.name}.${ext}`);
  }

  private async launch(): Promise<void> {
    if (this.stopping) return;
    const pod = this.pod;
    const container = pod.spec!.containers[0]!;
    let env: Record<string, string>;
    let args: string[];
    let image: LocalImage;
    let probes: { readiness?: Probe | undefined; liveness?: Probe | undefined };
    let netns: string;
    try {
      const known = imageFor(container.image);
      if (!known) throw new Error(`the local node agent cannot run image ${container.image ?? '(none)'}`);
      image = known;
      // Named for the plane's namespace, so e2e/cluster/exec removes what a killed agent left.
      if (!this.podDir) {
        this.podDir = mkdtempSync(path.join(os.tmpdir(), `${process.env['DBPROXY_NETNS'] ?? 'dbproxy'}-pod-`));
        chmodSync(this.podDir, 0o711); // images that drop root (postgres) must reach their data under it
      }
      this.netns ??= addPodNetwork(this.podIP);
      this.volumes ??= new PodVolumes(pod, this.podDir, this.deps.api, this.deps.log);
      await this.volumes.setUp(); // a missing Secret: CreateContainerConfigError, retried below
      netns = this.netns;
      env = { ...image.env(this.podDir), ...resolveEnv(pod, container.env, this.podIP) };
      args = expandArgs(container.args, env);
      probes = {
        readiness: resolveProbe(container.readinessProbe, container, this.podIP),
        liveness: resolveProbe(container.livenessProbe, container, this.podIP, false),
      };
      const token = await requestPodToken(this.deps.api, {
        namespace: pod.metadata!.namespace!,
        name: pod.metadata!.name!,
        uid: pod.metadata!.uid!,
        serviceAccountName: pod.spec!.serviceAccountName ?? 'default',
      });
      const ca = this.deps.api.ca?.toString('utf8') ?? '';
      writePodKubeconfig(this.file('kubeconfig'), podKubeconfigText(this.deps.api.server, ca, pod.metadata!.namespace!, token));
    } catch (err) {
      // A pod the agent cannot start stays waiting with the reason, and is retried like a crash.
      this.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: (err as Error).message };
      this.deps.log(`${this.key}: ${(err as Error).message}`);
      this.sync();
      this.after(restartDelayMs(++this.restartCount), () => void this.launch());
      return;
    }
    if (this.stopping) return this.volumes?.stop(); // stop() ran while the volumes were being set up
    const log = openSync(this.file('log'), 'a');
    // A process group of its own (detached), so stopping the pod stops everything the container started.
    // DBPROXY_NETNS marks the pod's processes as this plane's, for e2e/cluster/exec's clean-up.
    const child = spawn('ip', ['netns', 'exec', netns, ...this.volumes!.command(image.command(this.deps.root, args))], {
      stdio: ['ignore', log, log],
      detached: true,
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: process.env['HOME'] ?? '/tmp',
        HOSTNAME: pod.metadata!.name!,
        ...env,
        KUBECONFIG: this.file('kubeconfig'),
        ...(process.env['DBPROXY_NETNS'] ? { DBPROXY_NETNS: process.env['DBPROXY_NETNS'] } : {}),
      },
    });
    closeSync(log);
    this.child = child;
    const startedAt = now();
    this.state = { kind: 'running', startedAt };
    this.ready = !probes.readiness;
    this.deps.log(`${this.key}: started pid ${child.pid} on ${this.podIP}: ${image.name} ${args.join(' ')}`);
    this.sync();
    if (probes.readiness) this.probeLoop(child, probes.readiness, 'readiness', netns);
    if (probes.liveness) this.probeLoop(child, probes.liveness, 'liveness', netns);
    child.on('exit', (code, signal) => {
      // What the container left in its process group dies with it (PostgreSQL's backends have their
      // own sessions; they end themselves when they see their postmaster gone).
      signalChild(child, 'SIGKILL', true);
      this.child = undefined;
      this.ready = false;
      if (this.stopping) return;
      this.lastState = {
        kind: 'terminated',
        exitCode: code ?? 137,
        reason: signal ? `Signal ${signal}` : code === 0 ? 'Completed' : 'Error',
        startedAt,
        finishedAt: now(),
      };
      this.restartCount++;
      const delay = restartDelayMs(this.restartCount);
      this.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${delay / 1000}s restarting failed container` };
      this.deps.log(`${this.key}: exited (${code ?? signal}); restart ${this.restartCount} in ${delay} ms`);
      this.sync();
      this.after(delay, () => void this.launch());
    });
  }

  private probeLoop(child: ChildProcess, p: Probe, kind: 'readiness' | 'liveness', netns: string): void {
    let failures = 0;
    const what = describeCheck(p.check);
    const tick = async () => {
      if (this.child !== child || this.stopping) return;
      const ok = await probeOnce(p.check, p.timeoutMs, netns);
      if (this.child !== child || this.stopping) return;
      failures = ok ? 0 : failures + 1;
      if (kind === 'readiness') {
        const next = ok ? true : failures >= p.failureThreshold ? false : this.ready;
        if (next !== this.ready) {
          this.ready = next;
          this.deps.log(`${this.key}: ${next ? 'ready' : 'not ready'} (${what})`);
          this.sync();
        }
      } else if (failures >= p.failureThreshold) {
        this.deps.log(`${this.key}: liveness failed ${failures} times (${what}); killing`);
        signalChild(child, 'SIGKILL', true);
        return;
      }
      this.after(p.periodMs, tick);
    };
    this.after(p.initialDelayMs, tick);
  }

  private after(ms: number, fn: () => unknown): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
  }

  /** Writes the status when it changed; calls are serialized so a later state is never overwritten. */
  private sync(): void {
    this.syncing = this.syncing.then(() => this.writeStatus()).catch((err: Error) => this.deps.log(`${this.key}: status: ${err.message}`));
  }

  private async writeStatus(): Promise<void> {
    if (this.stopping) return;
    const view = {
      podIP: this.podIP,
      startTime: this.startTime,
      state: this.state,
      ready: this.ready,
      restartCount: this.restartCount,
      ...(this.lastState ? { lastState: this.lastState } : {}),
    };
    const status = computePodStatus(this.pod, view, now());
    if (!statusChanged(this.pod, status)) return;
    const { namespace, name } = this.pod.metadata!;
    const res = await this.deps.api.request<V1Pod>('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, { status }, 'application/merge-patch+json');
    if (res.status === 200) this.pod = res.body;
    else if (res.status !== 404) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  }

  /**
   * As the kubelet stops a container: its preStop hook first (within the grace period), then the
   * image's stop signal to the pod's process group, SIGKILL after what is left of the grace period;
   * resolves when the container is gone and the pod's network namespace and scratch directory are removed.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const hookMs = graceMs > 0 ? await this.runPreStop(child, graceMs) : 0;
      const left = graceAfterHook(graceMs, hookMs);
      const signal = left > 0 ? (imageFor(this.pod.spec?.containers[0]?.image)?.stopSignal ?? 'SIGTERM') : 'SIGKILL';
      await stopChild(child, left, { signal, group: true });
      this.deps.log(`${this.key}: stopped`);
    }
    this.volumes?.stop();
    if (this.netns) removePodNetwork(this.podIP);
    if (this.podDir) rmSync(this.podDir, { recursive: true, force: true });
  }

  /** The container's preStop hook, cut off at the grace period (as the kubelet's); how long it ran. */
  private async runPreStop(child: ChildProcess, graceMs: number): Promise<number> {
    let hook: ReturnType<typeof resolvePreStop>;
    try {
      hook = resolvePreStop(this.pod.spec?.containers[0], this.podIP);
    } catch (err) {
      this.deps.log(`${this.key}: preStop hook: ${(err as Error).message}`);
      return 0;
    }
    if (!hook || !this.netns) return 0;
    const started = Date.now();
    this.deps.log(`${this.key}: preStop ${hook.kind === 'sleep' ? `sleep ${hook.ms} ms` : describeCheck(hook.check)}`);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const ran =
      hook.kind === 'sleep'
        ? new Promise<void>((r) => setTimeout(r, Math.min(hook.ms, graceMs)).unref())
        : probeOnce(hook.check, graceMs, this.netns).then(() => {});
    let cutOff: NodeJS.Timeout | undefined;
    await Promise.race([ran, exited, new Promise<void>((r) => (cutOff = setTimeout(r, graceMs)))]);
    clearTimeout(cutOff);
    return Date.now() - started;
  }

  /** For `kubectl logs`-like debugging in test failures. */
  tail(lines = 40): string {
    try {
      return readFileSync(this.file('log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
