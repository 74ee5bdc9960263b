/**
 * Server-side apply with one field manager. The apiserver merges what we send with what others own
 * and returns the object unchanged (same resourceVersion) when nothing we own differs, so applying
 * the desired state every reconcile is cheap and idempotent. `force` takes over fields another
 * manager (a user's kubectl edit) set on objects the operator owns: the DBProxy spec is the truth.
 */
import { HttpMethod, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { classifyApiError } from '../../../contract/kube/errors.js';

export const FIELD_MANAGER = 'dbproxy-operator';

/**
 * KubernetesObjectApi with a status-subresource apply: client-node 1.4 builds resource paths (with
 * discovery, cached per client) but has no subresource support, so reuse its protected path builder.
 */
class ObjectClient extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): ObjectClient {
    const client = kc.makeApiClient(ObjectClient);
    client.setDefaultNamespace(kc);
    return client;
  }

  async applyStatus(obj: KubernetesObject & { status: unknown }): Promise<void> {
    const path = `${await this.specUriPath(obj, 'patch')}/status`;
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', FIELD_MANAGER);
    ctx.setQueryParam('force', 'true');
    // Only what we own: identity + status. Sending spec here would be ignored, but keep it lean.
    ctx.setBody(
      JSON.stringify({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace },
        status: obj.status,
      }),
    );
    await this.requestPromise(ctx);
  }
}

// One client per KubeConfig so discovery (kind → resource) is looked up once, not per call.
const clients = new WeakMap<KubeConfig, ObjectClient>();
function client(kc: KubeConfig): ObjectClient {
  let c = clients.get(kc);
  if (!c) clients.set(kc, (c = ObjectClient.forConfig(kc)));
  return c;
}

export async function applyObject<T extends KubernetesObject>(kc: KubeConfig, obj: T): Promise<T> {
  // Server-side apply rejects managedFields and a stale resourceVersion would make it a precondition.
  const { managedFields: _m, resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
  const body = { ...obj, metadata } as T;
  return client(kc).patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

export async function applyStatus(
  kc: KubeConfig,
  obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; status: unknown },
): Promise<void> {
  await client(kc).applyStatus(obj);
}

/** Deletes in the background (the garbage collector removes dependents); already gone is success. */
export async function deleteObject(kc: KubeConfig, ref: { apiVersion: string; kind: string; namespace?: string; name: string }): Promise<void> {
  try {
    await client(kc).delete(
      { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace !== undefined && { namespace: ref.namespace }) } },
      undefined,
      undefined,
      undefined,
      undefined,
      'Background',
    );
  } catch (err) {
    if (classifyApiError(err).kind !== 'NotFound') throw err;
  }
}
