// Reads and writes Secrets. A Secret that is not there is created with a POST, which fails rather
// than take over a Secret of the same name that appeared meanwhile; every later write is a
// server-side apply under one field manager, with the Secret's uid as a precondition, so fields of
// other tools survive, fields this operator stops applying are removed, and a Secret deleted and
// replaced by someone else since the operator saw it is never written.

import {
  PatchStrategy,
  setHeaderOptions,
  type V1ManagedFieldsEntry,
  type V1Secret,
} from '@kubernetes/client-node';
import { apiName } from './api-name.ts';
import { toKubeError, KubeError } from './errors.ts';
import { applyPatch, type KubeApi } from './kube-api.ts';
import { createManager, toLiveSecret, type LiveSecret, type OwnerRef } from './live-secret.ts';

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
  /** Creates the Secret; answers 'exists' when a Secret of that name is there already (nothing is written). */
  create(config: SecretApplyConfig): Promise<LiveSecret | 'exists'>;
  /**
   * Applies the Secret over the one with `uid`. A Secret deleted or replaced since is not written:
   * the refusal is a KubeError with reason 'Replaced'.
   */
  apply(config: SecretApplyConfig, uid: string): Promise<LiveSecret>;
  /**
   * Makes the fields the operator's create wrote (an Update in managedFields, which a later apply
   * would never remove) the operator's applied fields, once, before an apply removes one of them.
   * The Secret must still be `live` (its uid and resourceVersion): otherwise nothing is written
   * and the refusal is a KubeError.
   */
  adoptCreatedFields(live: LiveSecret): Promise<void>;
  /**
   * Asks the apiserver, in a dry run, whether it would create this Secret: resolves if so (its
   * name being taken already included), throws its refusal (a kubernetes.io/tls without tls.key)
   * otherwise. Nothing is stored.
   */
  checkCreate(config: SecretApplyConfig): Promise<void>;
  /** Deletes the Secret only if it is still the object with `uid`: one gone or replaced is left alone. */
  delete(namespace: string, name: string, uid: string): Promise<void>;
  /**
   * The Secret as it is now, data included, if it is still the object with `uid`: what a type
   * change puts back when the new Secret is refused after the old one is gone. Held only in memory,
   * for the length of one write.
   */
  snapshot(namespace: string, name: string, uid: string): Promise<SecretApplyConfig | undefined>;
}

/** The Secret as the API takes it; empty fields are left out rather than applied empty: an apply owns what it names. */
function secretBody(secret: SecretApplyConfig, uid?: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      namespace: secret.namespace,
      ...(uid ? { uid } : {}),
      ...(Object.keys(secret.labels).length ? { labels: { ...secret.labels } } : {}),
      ...(Object.keys(secret.annotations).length ? { annotations: { ...secret.annotations } } : {}),
      ...(secret.ownerReferences.length ? { ownerReferences: [...secret.ownerReferences] } : {}),
    },
    type: secret.type,
    data: { ...secret.data },
  };
}

/** A uid precondition that failed: 409 when the Secret is gone, 422 on metadata.uid when it is another one. */
function replaced(failure: KubeError): boolean {
  if (failure.status === 409 && failure.reason === 'Conflict') return true;
  return failure.status === 422 && failure.causeFields.includes('metadata.uid');
}

type Fields = Record<string, unknown>;

/** Two managedFields field sets as one. */
function unionOf(a: Fields, b: Fields): Fields {
  const out: Fields = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    out[key] =
      typeof mine === 'object' && mine !== null && typeof value === 'object' && value !== null
        ? unionOf(mine as Fields, value as Fields)
        : value;
  }
  return out;
}

/**
 * managedFields with the create's entry folded into the operator's apply entry, as client-go's
 * csaupgrade does for a client-side apply: every other manager's entry as it was.
 */
export function foldCreateEntry(
  entries: readonly V1ManagedFieldsEntry[],
  fieldManager: string,
): V1ManagedFieldsEntry[] {
  const created = entries.find((e) => e.manager === createManager(fieldManager) && e.operation === 'Update');
  if (!created) return [...entries];
  const applied = entries.find((e) => e.manager === fieldManager && e.operation === 'Apply');
  const rest = entries.filter((e) => e !== created && e !== applied);
  const fields = unionOf((applied?.fieldsV1 ?? {}) as Fields, (created.fieldsV1 ?? {}) as Fields);
  return [
    ...rest,
    {
      ...(applied ?? created),
      manager: fieldManager,
      operation: 'Apply',
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
    },
  ];
}

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** `api`: the work's client, whose requests are aborted when the leadership term ends. */
export function kubeSecretApi(api: KubeApi, fieldManager: string): SecretApi {
  const where = (namespace: string, name: string) => ({ name: apiName(name), namespace: apiName(namespace) });
  return {
    async read(namespace, name) {
      try {
        return toLiveSecret(await api.core.readNamespacedSecret(where(namespace, name)), fieldManager);
      } catch (error) {
        const failure = toKubeError(error, `reading Secret ${namespace}/${name}`);
        if (failure.status === 404) return undefined;
        throw failure;
      }
    },
    async snapshot(namespace, name, uid) {
      let secret: V1Secret;
      try {
        secret = await api.core.readNamespacedSecret(where(namespace, name));
      } catch (error) {
        const failure = toKubeError(error, `reading Secret ${namespace}/${name}`);
        if (failure.status === 404) return undefined;
        throw failure;
      }
      const { metadata } = secret;
      if (metadata?.uid !== uid) return undefined;
      return {
        name,
        namespace,
        type: secret.type ?? 'Opaque',
        labels: metadata.labels ?? {},
        annotations: metadata.annotations ?? {},
        data: secret.data ?? {},
        ownerReferences: (metadata.ownerReferences ?? []).map((ref) => ({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          name: ref.name,
          uid: ref.uid,
          controller: ref.controller ?? false,
        })),
      };
    },
    async create(secret) {
      try {
        const result = await api.core.createNamespacedSecret({
          namespace: apiName(secret.namespace),
          body: secretBody(secret),
          fieldManager: createManager(fieldManager),
        });
        const live = toLiveSecret(result, fieldManager);
        if (!live) throw new Error('the apiserver answered the create with no Secret');
        return live;
      } catch (error) {
        const failure = toKubeError(error, `creating Secret ${secret.namespace}/${secret.name}`, true);
        if (failure.status === 409 && failure.reason === 'AlreadyExists') return 'exists';
        throw failure;
      }
    },
    async apply(secret, uid) {
      const doing = `applying Secret ${secret.namespace}/${secret.name}`;
      try {
        const result = await api.core.patchNamespacedSecret(
          {
            ...where(secret.namespace, secret.name),
            body: secretBody(secret, uid),
            fieldManager,
            force: true,
          },
          applyPatch,
        );
        const live = toLiveSecret(result, fieldManager);
        if (!live) throw new Error('the apiserver answered the apply with no Secret');
        return live;
      } catch (error) {
        const failure = toKubeError(error, doing, true);
        if (replaced(failure))
          throw new KubeError(
            failure.status,
            'Replaced',
            `${doing} failed: the Secret was deleted or replaced since it was read, so it was not written; it is looked at again`,
          );
        throw failure;
      }
    },
    async adoptCreatedFields(live) {
      const doing = `taking over the created fields of Secret ${live.namespace}/${live.name}`;
      try {
        const current = await api.core.readNamespacedSecret(where(live.namespace, live.name));
        const meta = current.metadata;
        if (meta?.uid !== live.uid)
          throw new KubeError(409, 'Replaced', `${doing} failed: the Secret was replaced`);
        const entries = foldCreateEntry(meta.managedFields ?? [], fieldManager);
        await api.core.patchNamespacedSecret(
          {
            ...where(live.namespace, live.name),
            body: [
              // Only over the object just read: another writer's managedFields are never lost.
              { op: 'test', path: '/metadata/resourceVersion', value: meta.resourceVersion },
              { op: 'replace', path: '/metadata/managedFields', value: entries },
            ],
            fieldManager,
          },
          jsonPatch,
        );
      } catch (error) {
        throw toKubeError(error, doing);
      }
    },
    async checkCreate(secret) {
      try {
        await api.core.createNamespacedSecret({
          namespace: apiName(secret.namespace),
          body: secretBody(secret),
          dryRun: 'All',
          fieldManager: createManager(fieldManager),
        });
      } catch (error) {
        const failure = toKubeError(
          error,
          `checking that the apiserver takes Secret ${secret.namespace}/${secret.name} (a dry run)`,
          true,
        );
        // The apiserver validates before it looks for the name: AlreadyExists means it would take it.
        // Only the name's being taken: a webhook may deny with a 409 of its own.
        if (failure.status !== 409 || failure.reason !== 'AlreadyExists') throw failure;
      }
    },
    async delete(namespace, name, uid) {
      try {
        await api.core.deleteNamespacedSecret({
          ...where(namespace, name),
          body: { preconditions: { uid } },
        });
      } catch (error) {
        const failure = toKubeError(error, `deleting Secret ${namespace}/${name}`);
        if (failure.status !== 404 && failure.status !== 409) throw failure;
      }
    },
  };
}
