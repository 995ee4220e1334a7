// Reads and writes Secrets. Writes use server-side apply under one field manager: fields of other tools survive,
// and fields this operator stops applying are removed by the apiserver.

import type { V1Secret } from '@kubernetes/client-node';
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
  /**
   * Asks the apiserver, in a dry run, whether it would create this Secret: resolves if so (its
   * name being taken already included), throws its refusal (a kubernetes.io/tls without tls.key)
   * otherwise. Nothing is stored.
   */
  checkCreate(config: SecretApplyConfig): Promise<void>;
  /** Deletes the Secret only if it is still the object with `uid`. */
  delete(namespace: string, name: string, uid: string): Promise<void>;
}

/** The Secret as the API takes it; empty fields are left out rather than applied empty: an apply owns what it names. */
function secretBody(secret: SecretApplyConfig): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      ...(Object.keys(secret.labels).length ? { labels: { ...secret.labels } } : {}),
      ...(Object.keys(secret.annotations).length ? { annotations: { ...secret.annotations } } : {}),
      ...(secret.ownerReferences.length ? { ownerReferences: [...secret.ownerReferences] } : {}),
    },
    type: secret.type,
    data: { ...secret.data },
  };
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
      try {
        const result = await api.core.patchNamespacedSecret(
          {
            name: apiName(secret.name),
            namespace: apiName(secret.namespace),
            body: secretBody(secret),
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
    async checkCreate(secret) {
      try {
        await api.core.createNamespacedSecret({
          namespace: apiName(secret.namespace),
          body: secretBody(secret),
          dryRun: 'All',
          fieldManager,
        });
      } catch (error) {
        const failure = toKubeError(error, `applying Secret ${secret.namespace}/${secret.name}`, true);
        // The apiserver validates before it looks for the name: AlreadyExists means it would take it.
        // Only the name's being taken: a webhook may deny with a 409 of its own.
        if (failure.status !== 409 || failure.reason !== 'AlreadyExists') throw failure;
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
