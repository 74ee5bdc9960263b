/**
 * Which config each proxy pod runs: the pods' own `/config` (admin port), read at each reconcile,
 * against the config Secret's resourceVersion the operator last wrote. The pure part turns the
 * reports into status.podsOnCurrentConfig and the ConfigApplied condition.
 */
import type { EndpointSliceLike } from './targets.js';
import { SERVICE_NAME_LABEL } from './targets.js';

export interface ProxyPod {
  pod: string;
  ip: string;
}

/** What one pod said on /config, or why it said nothing. */
export interface PodConfigReport {
  pod: string;
  /** The config Secret's resourceVersion the pod runs. */
  version?: string;
  refused?: { version?: string; problems: string[] };
  /** The pod did not answer (not started yet, no config yet, unreachable). */
  error?: string;
}

/** The proxy pods behind Service `service` (ready or not, not terminating), from its EndpointSlices. */
export function proxyPods(service: string, slices: EndpointSliceLike[]): ProxyPod[] {
  const out: ProxyPod[] = [];
  for (const s of slices) {
    if (s.metadata?.labels?.[SERVICE_NAME_LABEL] !== service) continue;
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses?.[0];
      const pod = e.targetRef?.name ?? ip;
      if (ip && pod && !e.conditions?.terminating && !out.some((p) => p.pod === pod)) out.push({ pod, ip });
    }
  }
  return out.sort((a, b) => a.pod.localeCompare(b.pod));
}

/** Asks every pod at once; a pod that does not answer in time is reported with the reason. */
export async function fetchPodConfigs(pods: ProxyPod[], port: number, timeoutMs = 1_000): Promise<PodConfigReport[]> {
  return Promise.all(
    pods.map(async ({ pod, ip }): Promise<PodConfigReport> => {
      const host = ip.includes(':') ? `[${ip}]` : ip;
      try {
        const res = await fetch(`http://${host}:${port}/config`, { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) return { pod, error: `/config answered ${res.status}` };
        const body = (await res.json()) as { version?: unknown; refused?: { version?: unknown; problems?: unknown } };
        return { pod, ...reportBody(body) };
      } catch (err) {
        return { pod, error: (err as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (err as Error).message };
      }
    }),
  );
}

function reportBody(body: { version?: unknown; refused?: { version?: unknown; problems?: unknown } }): Omit<PodConfigReport, 'pod'> {
  const out: Omit<PodConfigReport, 'pod'> = {};
  if (typeof body.version === 'string') out.version = body.version;
  const r = body.refused;
  if (r && Array.isArray(r.problems)) out.refused = { ...(typeof r.version === 'string' && { version: r.version }), problems: r.problems.map(String) };
  return out;
}

export interface ConfigView {
  /** The config Secret's resourceVersion; undefined while the operator is writing a new config. */
  version: string | undefined;
  pods: PodConfigReport[];
}

export interface ConfigOutcome {
  podsOnCurrentConfig: number;
  condition: { type: 'ConfigApplied'; status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
  /** A pod refused the current config (Degraded says so too). */
  refusal?: string;
  /** Not every pod runs the current config yet: look again soon. */
  converging: boolean;
}

export function configOutcome(v: ConfigView): ConfigOutcome {
  const n = v.pods.length;
  const cond = (status: 'True' | 'False' | 'Unknown', reason: string, message: string) => ({ type: 'ConfigApplied' as const, status, reason, message });
  if (v.version === undefined)
    return { podsOnCurrentConfig: 0, condition: cond('Unknown', 'Writing', 'a new config is being written to the config Secret'), converging: true };
  if (n === 0) return { podsOnCurrentConfig: 0, condition: cond('Unknown', 'NoPods', 'no proxy pods to ask yet'), converging: true };
  const current = v.pods.filter((p) => p.version === v.version).length;
  const refusals = v.pods.filter((p) => p.refused && p.refused.version === v.version);
  if (refusals.length > 0) {
    const refusal = refusals.map((p) => `pod ${p.pod} refused config version ${v.version}: ${p.refused!.problems.join('; ')}`).join('; ');
    return { podsOnCurrentConfig: current, condition: cond('False', 'PodRefusedConfig', refusal), refusal, converging: false };
  }
  if (current === n)
    return {
      podsOnCurrentConfig: current,
      condition: cond('True', 'AllPodsCurrent', `${n}/${n} proxy pods run config version ${v.version}`),
      converging: false,
    };
  const behind = v.pods.filter((p) => p.version !== v.version).map((p) => (p.error ? `${p.pod}: ${p.error}` : `${p.pod}: runs ${p.version ?? 'no version'}`));
  return {
    podsOnCurrentConfig: current,
    condition: cond('False', 'PodsBehind', `${current}/${n} proxy pods run config version ${v.version} (${behind.join('; ')})`),
    converging: true,
  };
}
