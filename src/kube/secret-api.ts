// Reads and writes Secrets. Writes use server-side apply under one field manager: fields of other tools survive,
// and fields this operator stops applying are removed by the apiserver.

import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { cancellable, type SignalSource } from './cancel.ts';
import { toKubeError } from './errors.ts';
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

/** `signal`: the work's signal; every request is aborted when it aborts (lost leadership). */
export function kubeSecretApi(
  config: KubeConfig,
  fieldManager: string,
  signal: SignalSource = () => undefined,
): SecretApi {
  const api = config.makeApiClient(CoreV1Api);
  const options = cancellable(signal);
  return {
    async read(namespace, name) {
      try {
        return toLiveSecret(await api.readNamespacedSecret({ namespace, name }, options), fieldManager);
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
        const result = await api.patchNamespacedSecret(
          { name: secret.name, namespace: secret.namespace, body, fieldManager, force: true },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, options),
        );
        const live = toLiveSecret(result, fieldManager);
        if (!live) throw new Error('the apiserver answered the apply with no Secret');
        return live;
      } catch (error) {
        throw toKubeError(error, `applying Secret ${secret.namespace}/${secret.name}`);
      }
    },
    async delete(namespace, name, uid) {
      try {
        await api.deleteNamespacedSecret({ namespace, name, body: { preconditions: { uid } } }, options);
      } catch (error) {
        const failure = toKubeError(error, `deleting Secret ${namespace}/${name}`);
        if (failure.status !== 404 && failure.status !== 409) throw failure;
      }
    },
  };
}
