/** Where the tests find helm (e2e/kube/build.sh) and promtool (bin/install-promtool), when built. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

function find(cached: string, name: string): string | undefined {
  if (existsSync(cached)) return cached;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const HELM = find(path.join(ROOT, '.cache/kube/bin/current/helm'), 'helm');
export const PROMTOOL = find(path.join(ROOT, '.cache/promtool/current/promtool'), 'promtool');

/** Runs a tool; its output, or a thrown error carrying what it printed. */
export function runTool(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
