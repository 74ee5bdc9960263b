/** A directory laid out as kubelet mounts a Secret, for tests of file reloads: files are symlinks through `..data`, which an update swaps atomically. */
import { existsSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class SecretMount {
  private generation = 0;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /** As kubelet's AtomicWriter: a new timestamped directory, `..data` renamed over to point at it, the old one removed. */
  write(files: Record<string, Buffer | string>): void {
    const data = path.join(this.dir, '..data');
    const old = existsSync(data) ? readlinkSync(data) : undefined;
    const gen = `..gen_${process.pid}_${++this.generation}`;
    mkdirSync(path.join(this.dir, gen));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(this.dir, gen, name), bytes);
    const tmp = path.join(this.dir, '..data_tmp');
    symlinkSync(gen, tmp);
    renameSync(tmp, data);
    for (const name of Object.keys(files)) if (!existsSync(this.path(name))) symlinkSync(path.join('..data', name), this.path(name));
    if (old !== undefined) rmSync(path.join(this.dir, old), { recursive: true, force: true });
  }
}
