/**
 * A pod's Secret volumes, the I/O (secret-volume.ts decides): each written under the pod's scratch
 * dir in the kubelet's `..data` layout, kept current by polling its Secret, and bind-mounted
 * read-only at the container's mountPath inside the container's own mount namespace.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Api } from './api.js';
import {
  DATA_LINK,
  DATA_TMP_LINK,
  filesChanged,
  generationDirName,
  planSwap,
  secretVolumeFiles,
  type SecretVolumeSource,
  type VolumeFile,
} from './secret-volume.js';

/**
 * How often a Secret is re-read. The kubelet's default (sync period plus cache TTL) is up to about a
 * minute; a second keeps a spec's wait for a rotated certificate short at one GET per volume a second.
 */
export const SECRET_REFRESH_MS = 1_000;

interface SecretVolume {
  name: string;
  dir: string;
  source: SecretVolumeSource;
  files?: VolumeFile[];
}

interface Mount {
  source: string;
  target: string;
}

// Mount points this agent had to create on the shared host filesystem, with the pods using each: a
// dir goes when its last pod stops (removing it earlier would detach the mount of a pod still running).
const mountPointUsers = new Map<string, { users: number; made: string[] }>();

function acquireMountPoint(target: string): void {
  const known = mountPointUsers.get(target);
  if (known) {
    known.users++;
    return;
  }
  const missing: string[] = [];
  for (let d = target; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
  if (missing.length) mountPointUsers.set(target, { users: 1, made: missing });
}

function releaseMountPoint(target: string): void {
  const known = mountPointUsers.get(target);
  if (!known || --known.users > 0) return;
  mountPointUsers.delete(target);
  for (const d of [...known.made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      break; // not empty: something else put files there
    }
  }
}

// Runs before the container's command, in the mount namespace `ip netns exec` gives it (/ is a
// slave there, so the binds stay inside): (source, target) pairs, then `--` and the command. Always
// read-only, whatever the volumeMount says: the kubelet mounts Secret volumes read-only too.
const MOUNT_SCRIPT = 'while [ "$1" != -- ]; do mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" || exit 1; shift 2; done; shift; exec "$@"';

export class PodVolumes {
  private readonly volumes: SecretVolume[] = [];
  private readonly mounts: Mount[] = [];
  private acquired = false;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private generation = 0;
  private readonly reported = new Map<string, string>();
  private readonly namespace: string;

  constructor(
    pod: V1Pod,
    podDir: string,
    private readonly api: Api,
    private readonly log: (msg: string) => void,
  ) {
    this.namespace = pod.metadata!.namespace!;
    const container = pod.spec!.containers[0]!;
    const byName = new Map((pod.spec!.volumes ?? []).map((v) => [v.name, v]));
    for (const m of container.volumeMounts ?? []) {
      const secret = byName.get(m.name)?.secret;
      if (!secret) continue; // emptyDir and the rest: the container uses the host's paths, as before
      if (m.subPath || m.subPathExpr) throw new Error(`volumeMount ${m.name}: subPath is not supported by the local node agent`);
      const dir = path.join(podDir, 'volumes', 'kubernetes.io~secret', m.name);
      this.volumes.push({ name: m.name, dir, source: secret });
      this.mounts.push({ source: dir, target: m.mountPath });
    }
  }

  /** Writes every volume from its Secret (throws for a missing non-optional one), then keeps them current. */
  async setUp(): Promise<void> {
    for (const v of this.volumes) {
      mkdirSync(v.dir, { recursive: true, mode: 0o755 });
      await this.refresh(v);
    }
    if (!this.acquired) {
      for (const m of this.mounts) acquireMountPoint(m.target);
      this.acquired = true;
    }
    if (this.volumes.length && !this.timer) this.timer = setInterval(() => void this.refreshAll(), SECRET_REFRESH_MS);
  }

  /** The container's argv, behind the bind mounts when it has any. */
  command(argv: string[]): string[] {
    if (!this.mounts.length) return argv;
    return ['sh', '-c', MOUNT_SCRIPT, 'sh', ...this.mounts.flatMap((m) => [m.source, m.target]), '--', ...argv];
  }

  /** After the container is gone: no more refreshes, and the mount points this agent made are removed once unused. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.acquired) for (const m of this.mounts) releaseMountPoint(m.target);
    this.acquired = false;
  }

  private async refreshAll(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      for (const v of this.volumes) {
        try {
          await this.refresh(v);
          this.reported.delete(v.name);
        } catch (err) {
          // As the kubelet: a failed update leaves the files as they were; said once per distinct error.
          const msg = (err as Error).message;
          if (this.reported.get(v.name) !== msg) this.log(`${this.namespace} volume ${v.name}: ${msg}; keeping the files as they are`);
          this.reported.set(v.name, msg);
        }
      }
    } finally {
      this.refreshing = false;
    }
  }

  private async refresh(v: SecretVolume): Promise<void> {
    const name = v.source.secretName ?? '';
    const res = await this.api.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${this.namespace}/secrets/${encodeURIComponent(name)}`);
    if (res.status !== 200 && res.status !== 404) throw new Error(`get secret ${this.namespace}/${name}: HTTP ${res.status}`);
    const files = secretVolumeFiles(this.namespace, v.source, res.status === 200 ? res.body : undefined);
    if (!filesChanged(v.files, files)) return;
    this.swap(v.dir, files);
    if (v.files) this.log(`${this.namespace} volume ${v.name}: Secret ${name} changed; ${DATA_LINK} swapped`);
    v.files = files;
  }

  private swap(dir: string, files: VolumeFile[]): void {
    const link = path.join(dir, DATA_LINK);
    const dataDir = existsSync(link) ? readlinkSync(link) : undefined;
    const names = readdirSync(dir).filter((n) => !n.startsWith('..'));
    const gen = generationDirName(new Date(), String(++this.generation));
    rmSync(path.join(dir, DATA_TMP_LINK), { force: true }); // left by a swap that was cut short
    for (const s of planSwap(files, { dataDir, names }, gen)) {
      if (s.op === 'mkdir') mkdirSync(path.join(dir, s.path), { mode: 0o755 });
      else if (s.op === 'write') {
        writeFileSync(path.join(dir, s.path), s.bytes, { mode: s.mode });
        chmodSync(path.join(dir, s.path), s.mode); // the umask does not apply to a Secret's modes
      } else if (s.op === 'symlink') symlinkSync(s.target, path.join(dir, s.path));
      else if (s.op === 'rename') renameSync(path.join(dir, s.from), path.join(dir, s.to));
      else rmSync(path.join(dir, s.path), { recursive: true, force: true });
    }
  }
}
