/**
 * Secret volumes, pure: the files a `secret:` volume yields (data, items, optional, modes) and the
 * kubelet's AtomicWriter plan for writing them (k8s.io/kubernetes pkg/volume/util/atomic_writer.go).
 */
import path from 'node:path';

export interface SecretVolumeSource {
  secretName?: string | undefined;
  items?: { key: string; path: string; mode?: number | undefined }[] | undefined;
  optional?: boolean | undefined;
  defaultMode?: number | undefined;
}

/** A file of the volume: its path relative to the volume, its bytes, its mode. */
export interface VolumeFile {
  path: string;
  bytes: Buffer;
  mode: number;
}

/** The kubelet's default for secret volumes. */
export const DEFAULT_MODE = 0o644;
export const DATA_LINK = '..data';
export const DATA_TMP_LINK = '..data_tmp';

/** Relative, no `..` element, no leading `..` (the AtomicWriter reserves those names): as the kubelet validates payload paths. */
export function checkPath(p: string): void {
  if (!p || path.isAbsolute(p)) throw new Error(`secret volume path ${JSON.stringify(p)} must be relative and non-empty`);
  if (p.split('/').some((e) => e === '..' || e === '')) throw new Error(`secret volume path ${JSON.stringify(p)} must not contain '..' or empty elements`);
  if (p.startsWith('..')) throw new Error(`secret volume path ${JSON.stringify(p)} must not start with '..'`);
}

/**
 * The volume's files from the Secret (`data` base64, as the API gives it; undefined: the Secret does
 * not exist). A missing Secret or key is an error unless `optional`, and then it yields nothing.
 */
export function secretVolumeFiles(
  namespace: string,
  source: SecretVolumeSource,
  secret: { data?: Record<string, string> | undefined } | undefined,
): VolumeFile[] {
  const ref = `${namespace}/${source.secretName ?? ''}`;
  if (!source.secretName) throw new Error('secret volume without secretName');
  if (!secret) {
    if (source.optional) return [];
    throw new Error(`secret ${JSON.stringify(ref)} not found`);
  }
  const data = secret.data ?? {};
  const mode = source.defaultMode ?? DEFAULT_MODE;
  const files: VolumeFile[] = [];
  if (!source.items?.length) {
    for (const [key, b64] of Object.entries(data)) {
      checkPath(key);
      files.push({ path: key, bytes: Buffer.from(b64, 'base64'), mode });
    }
  } else {
    for (const item of source.items) {
      checkPath(item.path);
      const b64 = data[item.key];
      if (b64 === undefined) {
        if (source.optional) continue;
        throw new Error(`couldn't find key ${item.key} in Secret ${ref}`);
      }
      files.push({ path: item.path, bytes: Buffer.from(b64, 'base64'), mode: item.mode ?? mode });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Whether `next` differs from what is on disk (bytes or mode), so a write is needed at all. */
export function filesChanged(current: readonly VolumeFile[] | undefined, next: readonly VolumeFile[]): boolean {
  if (!current || current.length !== next.length) return true;
  return next.some((f, i) => current[i]!.path !== f.path || current[i]!.mode !== f.mode || !current[i]!.bytes.equals(f.bytes));
}

/** A timestamped data directory name as the kubelet makes them: `..2006_01_02_15_04_05.<unique>`. */
export function generationDirName(at: Date, unique: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const d = at;
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.${unique}`;
}

/** The user-visible names of a payload: the first element of each path, each a symlink into `..data`. */
export function visibleNames(files: readonly VolumeFile[]): string[] {
  return [...new Set(files.map((f) => f.path.split('/')[0]!))].sort();
}

export type SwapStep =
  | { op: 'mkdir'; path: string }
  | { op: 'write'; path: string; bytes: Buffer; mode: number }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'remove'; path: string };

/**
 * The AtomicWriter's steps, paths relative to the volume directory: the payload into a new
 * timestamped dir, `..data_tmp` → it renamed over `..data` (the one atomic switch readers see), then
 * links for new names, removal of names the payload dropped, and the previous dir last, so a reader
 * that resolved `..data` a moment before still finds its files until the switch is done.
 */
export function planSwap(files: readonly VolumeFile[], current: { dataDir?: string | undefined; names: readonly string[] }, genDir: string): SwapStep[] {
  const steps: SwapStep[] = [{ op: 'mkdir', path: genDir }];
  const dirs = new Set<string>();
  for (const f of files) {
    for (let d = path.posix.dirname(f.path); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort((a, b) => a.length - b.length)) steps.push({ op: 'mkdir', path: path.posix.join(genDir, d) });
  for (const f of files) steps.push({ op: 'write', path: path.posix.join(genDir, f.path), bytes: f.bytes, mode: f.mode });
  steps.push({ op: 'symlink', target: genDir, path: DATA_TMP_LINK }, { op: 'rename', from: DATA_TMP_LINK, to: DATA_LINK });
  const next = visibleNames(files);
  for (const n of next) if (!current.names.includes(n)) steps.push({ op: 'symlink', target: path.posix.join(DATA_LINK, n), path: n });
  for (const n of current.names) if (!next.includes(n)) steps.push({ op: 'remove', path: n });
  if (current.dataDir && current.dataDir !== genDir) steps.push({ op: 'remove', path: current.dataDir });
  return steps;
}
