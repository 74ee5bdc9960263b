/**
 * The PodMonitor (Prometheus Operator, monitoring.coreos.com/v1) that scrapes DBProxy X's proxy pods,
 * pure: X-proxy in X's namespace, owned by X, selecting the pods by their selector labels and
 * scraping the `admin` port's /metrics. Each scraped series gets a `dbproxy` label (X's name), which
 * the chart's dashboard and alerts group by. Only when spec.monitoring.podMonitor.enabled, and only
 * where the apiserver serves the kind: without the Prometheus Operator's CRDs the DBProxy gets a
 * MonitoringUnavailable Event instead, and everything else is applied as usual.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DBProxySpec } from '../api/v1alpha1/schema.js';
import { classifyApiError } from '../../../contract/kube/errors.js';
import type { EventSpec } from './decide.js';
import { stableHash } from './hash.js';
import { SPEC_HASH, childLabels, childNames, ownerRef, selectorLabels } from './names.js';

export const POD_MONITOR = {
  group: 'monitoring.coreos.com',
  version: 'v1',
  plural: 'podmonitors',
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PodMonitor',
} as const;

export const MONITORING_UNAVAILABLE = 'MonitoringUnavailable';

export interface PodMonitorInput {
  name: string;
  namespace: string;
  uid: string;
  spec: DBProxySpec;
}

export function podMonitorFor(i: PodMonitorInput): KubernetesObject & Record<string, unknown> {
  const pm = i.spec.monitoring.podMonitor;
  // The operator's own labels last: the child informers select on them.
  const metadata = {
    name: childNames(i.name).deployment,
    namespace: i.namespace,
    labels: { ...pm.labels, ...childLabels(i.name) },
    ownerReferences: [ownerRef(i.name, i.uid)],
  };
  const spec = {
    selector: { matchLabels: selectorLabels(i.name) },
    podMetricsEndpoints: [
      {
        port: 'admin',
        path: '/metrics',
        // The proxy's own `endpoint` label (writer | reader) wins over the target label of that name.
        honorLabels: true,
        ...(pm.interval !== undefined ? { interval: pm.interval } : {}),
        relabelings: [{ action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'], targetLabel: 'dbproxy' }],
      },
    ],
  };
  const body = { apiVersion: POD_MONITOR.apiVersion, kind: POD_MONITOR.kind, metadata, spec };
  return { ...body, metadata: { ...metadata, annotations: { [SPEC_HASH]: stableHash(body) } } };
}

/**
 * What one reconcile does about the PodMonitor, given whether the apiserver serves the kind (`served`
 * undefined: not known yet, so it is tried and an apply failure says so).
 */
export function podMonitorPlan(i: PodMonitorInput, served: boolean | undefined): { desired: KubernetesObject[]; events: EventSpec[] } {
  if (!i.spec.monitoring.podMonitor.enabled) return { desired: [], events: [] };
  if (served === false) return { desired: [], events: [unavailableEvent()] };
  return { desired: [podMonitorFor(i)], events: [] };
}

export function unavailableEvent(detail?: string): EventSpec {
  const why = `spec.monitoring.podMonitor.enabled is true, but this cluster does not serve ${POD_MONITOR.kind} (${POD_MONITOR.apiVersion}): install the Prometheus Operator's CRDs; the proxy pods are not scraped until then`;
  return { type: 'Warning', reason: MONITORING_UNAVAILABLE, message: detail ? `${why} (${detail})` : why };
}

/**
 * An apply of a PodMonitor failed because the kind is not served: client-node's discovery found no
 * such group (404) or no such kind in it. Anything else is an ordinary apply failure.
 */
export function kindNotServed(err: unknown): boolean {
  if (err instanceof Error && /Unrecognized API version and kind/.test(err.message)) return true;
  return classifyApiError(err).kind === 'NotFound';
}

/** The apiserver's discovery document for monitoring.coreos.com/v1 lists podmonitors. */
export function servesPodMonitors(resourceList: unknown): boolean {
  const resources = (resourceList as { resources?: { name?: unknown }[] } | undefined)?.resources;
  return Array.isArray(resources) && resources.some((r) => r?.name === POD_MONITOR.plural);
}
