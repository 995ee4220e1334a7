// Where the Vault token that issued live leases is kept across a restart or a change of leader:
// one Secret in the operator's own namespace (--lease-token-secret), one key per Vault identity
// ("operator", or "namespace.<name>" in namespace scope). Vault ends a lease with the token that
// issued it, so the next process renews that token instead of issuing every dynamic credential
// again. The Secret holds nothing else and is written once per new token that issues a lease.

import { toKubeError } from './errors.ts';
import { apiName } from './api-name.ts';
import { mergePatch, type KubeApi } from './kube-api.ts';

export interface LeaseTokenStore {
  /** The token kept for `identity`, if any. */
  read(identity: string): Promise<string | undefined>;
  /** Keeps `token` for `identity` (replacing the one kept before). */
  keep(identity: string, token: string): Promise<void>;
  /** Forgets the token of `identity`. */
  forget(identity: string): Promise<void>;
}

const managedBy = { 'app.kubernetes.io/managed-by': 'secrets-manager' };

/** `api`: the work's client, whose writes end with the leadership term. */
export function kubeLeaseTokenStore(api: KubeApi, namespace: string, name: string): LeaseTokenStore {
  const where = { namespace: apiName(namespace), name: apiName(name) };
  const doing = `the lease token Secret ${namespace}/${name}`;
  const patch = async (data: Record<string, string | null>): Promise<'missing' | 'patched'> => {
    try {
      await api.core.patchNamespacedSecret({ ...where, body: { data } }, mergePatch);
      return 'patched';
    } catch (error) {
      const failure = toKubeError(error, `updating ${doing}`, true);
      if (failure.status === 404) return 'missing';
      throw failure;
    }
  };
  return {
    async read(identity) {
      try {
        const secret = await api.core.readNamespacedSecret(where);
        const value = secret.data?.[identity];
        return value ? Buffer.from(value, 'base64').toString('utf8') : undefined;
      } catch (error) {
        const failure = toKubeError(error, `reading ${doing}`, true);
        if (failure.status === 404) return undefined;
        throw failure;
      }
    },
    async keep(identity, token) {
      const data = { [identity]: Buffer.from(token, 'utf8').toString('base64') };
      if ((await patch(data)) === 'patched') return;
      try {
        await api.core.createNamespacedSecret({
          namespace: where.namespace,
          body: { metadata: { name, namespace, labels: managedBy }, type: 'Opaque', data },
        });
      } catch (error) {
        const failure = toKubeError(error, `creating ${doing}`, true);
        // Created meanwhile by another writer: this token goes in as an update.
        if (failure.status !== 409) throw failure;
        await patch(data);
      }
    },
    async forget(identity) {
      await patch({ [identity]: null });
    },
  };
}
