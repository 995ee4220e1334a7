// Reads and writes Secrets. Writes use server-side apply under one field manager: fields of other tools survive,
// and fields this operator stops applying are removed by the apiserver.

import { apiName } from './api-name.ts';
import { toKubeError } from './errors.ts';
import { applyPatch, type KubeApi } from './kube-api.ts';
import { toLiveSecret, type LiveSecret, type OwnerRef } from './live-secret.ts';

export interface SecretApplyConfig {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Secret data, base64-encoded as the API carries it. */
  readonly data: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerRef[];
}

export interface SecretApi {
  /** A direct read, for the one case the label-selected cache cannot answer: a Secret that is not ours. */
  read(namespace: string, name: string): Promise<LiveSecret | undefined>;
  apply(config: SecretApplyConfig): Promise<LiveSecret>;
  /** Deletes the Secret only if it is still the object with `uid`. */
  delete(namespace: string, name: string, uid: string): Promise<void>;
}

/** `api`: the work's client, whose requests are aborted when the leadership term ends. */
export function kubeSecretApi(api: KubeApi, fieldManager: string): SecretApi {
  return {
    async read(namespace, name) {
      try {
        const secret = await api.core.readNamespacedSecret({
          name: apiName(name),
          namespace: apiName(namespace),
        });
        return toLiveSecret(secret, fieldManager);
      } catch (error) {
        const failure = toKubeError(error, `reading Secret ${namespace}/${name}`);
        if (failure.status === 404) return undefined;
        throw failure;
      }
    },
    async apply(secret) {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: secret.name,
          namespace: secret.namespace,
          // Empty fields are left out rather than applied empty: an apply owns what it names.
          ...(Object.keys(secret.labels).length ? { labels: secret.labels } : {}),
          ...(Object.keys(secret.annotations).length ? { annotations: secret.annotations } : {}),
          ...(secret.ownerReferences.length ? { ownerReferences: secret.ownerReferences } : {}),
        },
        type: secret.type,
        data: secret.data,
      };
      try {
        const result = await api.core.patchNamespacedSecret(
          {
            name: apiName(secret.name),
            namespace: apiName(secret.namespace),
            body,
            fieldManager,
            force: true,
          },
          applyPatch,
        );
        const live = toLiveSecret(result, fieldManager);
        if (!live) throw new Error('the apiserver answered the apply with no Secret');
        return live;
      } catch (error) {
        throw toKubeError(error, `applying Secret ${secret.namespace}/${secret.name}`, true);
      }
    },
    async delete(namespace, name, uid) {
      try {
        await api.core.deleteNamespacedSecret({
          name: apiName(name),
          namespace: apiName(namespace),
          body: { preconditions: { uid } },
        });
      } catch (error) {
        const failure = toKubeError(error, `deleting Secret ${namespace}/${name}`);
        if (failure.status !== 404 && failure.status !== 409) throw failure;
      }
    },
  };
}
