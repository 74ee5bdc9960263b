/**
 * Kubernetes Events (core/v1, the kind `kubectl describe` shows) for target flips and invalid specs.
 * A repeat of the same (object, type, reason, message) bumps `count` on the existing Event instead
 * of creating a new one, like client-go's recorder, so a flapping target does not flood etcd.
 * Recording never throws: an Event is a courtesy, never a reason for a reconcile to fail.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { classifyApiError } from '../../../contract/kube/errors.js';

const MAX_REMEMBERED = 1_000;

export type EventType = 'Normal' | 'Warning';

export function eventKey(involved: KubernetesObject, type: EventType, reason: string, message: string): string {
  const m = involved.metadata;
  return JSON.stringify([involved.apiVersion, involved.kind, m?.namespace, m?.name, m?.uid, type, reason, message]);
}

export class EventRecorder {
  private readonly api: CoreV1Api;
  /** key → { name, namespace, count } of Events we wrote; insertion order is age (oldest evicted). */
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    kc: KubeConfig,
    private readonly component: string,
    private readonly log?: Logger,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  async record(involved: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const key = eventKey(involved, type, reason, message);
    const now = new Date();
    try {
      const prev = this.seen.get(key);
      if (prev && (await this.bump(prev, now))) return;
      const namespace = involved.metadata?.namespace ?? 'default';
      const name = `${involved.metadata?.name ?? 'unknown'}.${randomBytes(8).toString('hex')}`;
      const body: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          name: involved.metadata?.name,
          namespace: involved.metadata?.namespace,
          uid: involved.metadata?.uid,
          resourceVersion: involved.metadata?.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: this.component },
        reportingComponent: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await this.api.createNamespacedEvent({ namespace, body });
      this.remember(key, { name, namespace, count: 1 });
    } catch (err) {
      this.log?.warn({ err: classifyApiError(err).message, reason }, 'could not record an Event');
    }
  }

  /** false when the Event is gone (Events expire after an hour): the caller creates a new one. */
  private async bump(prev: { name: string; namespace: string; count: number }, now: Date): Promise<boolean> {
    try {
      const count = prev.count + 1;
      await this.api.patchNamespacedEvent(
        { name: prev.name, namespace: prev.namespace, body: { count, lastTimestamp: now.toISOString() } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      prev.count = count;
      return true;
    } catch (err) {
      if (classifyApiError(err).kind === 'NotFound') return false;
      throw err;
    }
  }

  private remember(key: string, v: { name: string; namespace: string; count: number }): void {
    this.seen.delete(key);
    this.seen.set(key, v);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }
}
