import type { ChildProcess } from 'node:child_process';

export interface StopOptions {
  /** The first signal (default SIGTERM); SIGKILL follows after the grace period. */
  signal?: NodeJS.Signals;
  /** Signal the child's whole process group (a child spawned `detached`), as a container runtime would. */
  group?: boolean;
}

/** Sends `signal` to the child, or its process group; a process already gone is fine. */
export function signalChild(c: ChildProcess, signal: NodeJS.Signals, group = false): void {
  try {
    if (!group) c.kill(signal);
    else if (c.pid) process.kill(-c.pid, signal);
  } catch {
    /* gone */
  }
}

/** The first signal, SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopChild(c: ChildProcess, graceMs = 10_000, opts: StopOptions = {}): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const group = opts.group ?? false;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => signalChild(c, 'SIGKILL', group), graceMs);
    c.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    signalChild(c, opts.signal ?? 'SIGTERM', group);
  });
}
