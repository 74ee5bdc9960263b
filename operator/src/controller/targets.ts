/**
 * Target endpoints of a DBProxy, pure: the candidates to probe (host targets plus the ready addresses
 * of each serviceRef's EndpointSlices) and the writer choice with its generation.
 */
import { formatHostPort } from '../../../contract/config/host-port.js';
import { pickWriter, splitBrain, type TargetHealth } from '../../../contract/health/writer.js';
import { DEFAULT_PG_PORT, type DBProxySpec } from '../api/v1alpha1/schema.js';

/** The fields of a discovery.k8s.io/v1 EndpointSlice this module reads. */
export interface EndpointSliceLike {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null; terminating?: boolean | null }; targetRef?: { name?: string } | null }[] | null;
  ports?: { name?: string | null; port?: number | null }[] | null;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * The endpoint port of a slice for a serviceRef: the slice port equal to serviceRef.port when there is
 * one, else the slice's only port (a Service mapping 5432 to a named or different targetPort), else
 * serviceRef.port itself.
 */
function slicePort(slice: EndpointSliceLike, wanted: number): number {
  const ports = (slice.ports ?? []).map((p) => p.port).filter((p): p is number => typeof p === 'number');
  if (ports.includes(wanted)) return wanted;
  return ports.length === 1 ? ports[0]! : wanted;
}

/** Every endpoint to probe, in spec order, without duplicates. Not-ready or terminating addresses are skipped. */
export function candidateEndpoints(spec: DBProxySpec, slices: EndpointSliceLike[]): string[] {
  const out: string[] = [];
  const add = (e: string) => void (out.includes(e) ? undefined : out.push(e));
  for (const t of spec.targets) {
    if (t.host !== undefined) {
      add(formatHostPort(t.host, t.port ?? DEFAULT_PG_PORT));
      continue;
    }
    if (!t.serviceRef) continue;
    const ref = t.serviceRef;
    const mine = slices
      .filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === ref.name && s.addressType !== 'FQDN')
      .sort((a, b) => JSON.stringify(a.metadata).localeCompare(JSON.stringify(b.metadata)));
    for (const s of mine) {
      const port = slicePort(s, ref.port);
      for (const ep of s.endpoints ?? []) {
        if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
        for (const a of ep.addresses ?? []) add(formatHostPort(a, port));
      }
    }
  }
  return out;
}

/**
 * Endpoints for the rendered config when no writer is known yet: host targets and each serviceRef's
 * Service DNS name. The proxy, given several, probes them itself until the operator names a writer.
 */
export function fallbackEndpoints(spec: DBProxySpec, namespace: string): string[] {
  return spec.targets.map((t) =>
    t.host !== undefined ? formatHostPort(t.host, t.port ?? DEFAULT_PG_PORT) : formatHostPort(`${t.serviceRef!.name}.${namespace}.svc`, t.serviceRef!.port),
  );
}

export interface WriterChoice {
  writer: string | undefined;
  generation: number;
  changed: boolean;
}

/**
 * Keeps the current writer while it is a healthy WRITER; else the first available endpoint not in
 * recovery. With no usable endpoint the last writer stays while it is still a candidate (the proxies
 * queue borrowers rather than being pointed at nothing; a target not yet probed is REGISTERING, so a new
 * leader keeps the writer its status names). Every change of writer bumps the generation, which is what makes every
 * proxy pod close its old backends.
 */
export function chooseWriter(healths: TargetHealth[], prev: { writer?: string | undefined; generation: number }): WriterChoice {
  const stillCandidate = healths.some((h) => h.endpoint === prev.writer);
  // A split brain takes the writer away (pods queue clients); otherwise a writer merely not answering stays.
  const next = pickWriter(healths, prev.writer) ?? (stillCandidate && !splitBrain(healths) ? prev.writer : undefined);
  const changed = next !== prev.writer;
  return { writer: next, generation: changed ? prev.generation + 1 : prev.generation, changed };
}
