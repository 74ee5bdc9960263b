/** Where an httpGet probe goes, resolved against the pod, pure (named ports as the kubelet does). */
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface HttpProbe {
  url: string;
  periodMs: number;
  initialDelayMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

/**
 * Periods are capped at 2 s so tests see readiness quickly; thresholds are honoured. A probe kind the
 * agent cannot run (exec, tcpSocket, grpc) is an error the caller reports in the pod's status.
 */
export function resolveProbe(probe: V1Probe | undefined, container: V1Container, podIP: string): HttpProbe | undefined {
  if (!probe) return undefined;
  if (!probe.httpGet) throw new Error('the local node agent runs httpGet probes only');
  const raw = probe.httpGet.port as unknown;
  let port: number | undefined;
  if (typeof raw === 'number') port = raw;
  else if (typeof raw === 'string' && /^\d+$/.test(raw)) port = Number(raw);
  else port = container.ports?.find((p) => p.name === raw)?.containerPort;
  if (port === undefined) throw new Error(`probe port ${String(raw)} is not a port of container ${container.name}`);
  const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
  const host = probe.httpGet.host ?? podIP;
  const path = probe.httpGet.path ?? '/';
  return {
    url: `${scheme}://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`,
    periodMs: Math.min(probe.periodSeconds ?? 10, 2) * 1000,
    initialDelayMs: Math.min(probe.initialDelaySeconds ?? 0, 2) * 1000,
    // At least 3 s: on a loaded 2-core machine the 1 s default would fail probes of healthy processes.
    timeoutMs: Math.max(probe.timeoutSeconds ?? 1, 3) * 1000,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}
