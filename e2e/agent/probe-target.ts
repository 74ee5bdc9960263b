/** What a probe checks, resolved against the pod, pure (named ports as the kubelet does). */
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeCheck =
  | { kind: 'http'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  /** Run inside the pod's network namespace; exit status 0 passes. */
  | { kind: 'exec'; command: string[] };

export interface Probe {
  check: ProbeCheck;
  periodMs: number;
  initialDelayMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

function portOf(raw: unknown, container: V1Container): number {
  let port: number | undefined;
  if (typeof raw === 'number') port = raw;
  else if (typeof raw === 'string' && /^\d+$/.test(raw)) port = Number(raw);
  else port = container.ports?.find((p) => p.name === raw)?.containerPort;
  if (port === undefined) throw new Error(`probe port ${String(raw)} is not a port of container ${container.name}`);
  return port;
}

function checkOf(probe: V1Probe, container: V1Container, podIP: string): ProbeCheck {
  if (probe.httpGet) {
    const port = portOf(probe.httpGet.port as unknown, container);
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    const host = probe.httpGet.host ?? podIP;
    const path = probe.httpGet.path ?? '/';
    return { kind: 'http', url: `${scheme}://${host}:${port}${path.startsWith('/') ? path : `/${path}`}` };
  }
  if (probe.tcpSocket) return { kind: 'tcp', host: probe.tcpSocket.host ?? podIP, port: portOf(probe.tcpSocket.port as unknown, container) };
  if (probe.exec?.command?.length) return { kind: 'exec', command: probe.exec.command };
  throw new Error('the local node agent runs httpGet, tcpSocket and exec probes (not grpc)');
}

/**
 * Readiness periods are capped at 2 s so tests see readiness quickly; liveness keeps the pod's own
 * period and delay (`fast: false`), as the kubelet does, so a process slow to start on a loaded
 * machine is not killed sooner than a kubelet would kill it. Thresholds are honoured. A probe kind the
 * agent cannot run is an error the caller reports in the pod's status.
 */
export function resolveProbe(probe: V1Probe | undefined, container: V1Container, podIP: string, fast = true): Probe | undefined {
  if (!probe) return undefined;
  const cap = fast ? 2 : Number.POSITIVE_INFINITY;
  return {
    check: checkOf(probe, container, podIP),
    periodMs: Math.min(probe.periodSeconds ?? 10, cap) * 1000,
    initialDelayMs: Math.min(probe.initialDelaySeconds ?? 0, cap) * 1000,
    // At least 3 s: on a loaded 2-core machine the 1 s default would fail probes of healthy processes.
    timeoutMs: Math.max(probe.timeoutSeconds ?? 1, 3) * 1000,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/** For logs: what the probe looks at. */
export function describeCheck(c: ProbeCheck): string {
  return c.kind === 'http' ? c.url : c.kind === 'tcp' ? `tcp ${c.host}:${c.port}` : `exec ${c.command.join(' ')}`;
}
