// The SecretDefinition API (secrets-manager.tuenti.io/v1alpha1) as TypeScript types. Objects
// from the cluster are `unknown` until `parseSecretDefinition` has checked them.

export const group = 'secrets-manager.tuenti.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'SecretDefinition';
export const plural = 'secretdefinitions';

/** The original secrets-manager's finalizer: honoured and removed, never added. */
export const legacyFinalizer = 'secret.finalizer.secrets-manager.tuenti.io';
/** kubectl's copy of the last applied manifest: never copied to a Secret, never cached. */
export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'secrets-manager';
/** On a Secret: the SecretDefinition (same namespace) that owns it, also under deletionPolicy Retain. */
export const ownerAnnotation = 'secrets-manager.tuenti.io/owner';
/** On a workload: restart it when any managed Secret it reads changes. */
export const autoReloadAnnotation = 'secrets-manager.tuenti.io/auto-reload';
/** On a pod template: Secret name -> id of the data its pods were restarted for (JSON). */
export const restartedForAnnotation = 'secrets-manager.tuenti.io/restarted-for';
/**
 * On a managed Secret: an opaque id of its data, new (random) at each write that changes the data
 * and kept otherwise. It says which data the pods were restarted for without telling anything
 * about it (a hash of a short value could be guessed), and it survives operator restarts.
 */
export const dataIdAnnotation = 'secrets-manager.tuenti.io/data-id';
/**
 * On a managed Secret of a PKI or dynamic definition: what was issued into it (JSON, see
 * controller/issued-record.ts): which spec it was issued for and, for dynamic credentials, the
 * lease to renew and revoke. It is how a restarted operator finds the current lease instead of
 * issuing again. It holds no value: the Secret's data does, and anyone who may read this may read that.
 */
export const issuedAnnotation = 'secrets-manager.tuenti.io/issued';

/** Where the values come from (--backend): what a path and a version name depends on it. */
export type Backend = 'vault' | 'azure-kv';

/** A Vault KV v2 version number, or an Azure Key Vault version id (32 hex characters). */
export type SourceVersion = number | string;

export type Encoding = 'text' | 'base64';
export type DeletionPolicy = 'Delete' | 'Retain';

export interface KeySource {
  readonly path: string;
  readonly key: string;
  readonly encoding: Encoding;
  readonly version?: SourceVersion;
}

export interface SecretTemplate {
  /** Secret data key -> template. */
  readonly data: Readonly<Record<string, string>>;
  /** Replace: only the template keys; Merge: the fetched keys too, templates winning. */
  readonly mergePolicy: 'Replace' | 'Merge';
}

export interface RolloutRestartTarget {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  readonly name: string;
}

export interface DataFromSource {
  readonly path: string;
  readonly version?: SourceVersion;
}

/** spec.pki: a certificate from a PKI secrets engine, issued again before it expires. */
export interface PkiSpec {
  /** `<mount>/issue/<role>`. */
  readonly path: string;
  readonly commonName: string;
  readonly altNames: readonly string[];
  readonly ipSans: readonly string[];
  /** Milliseconds; undefined: the role's default. */
  readonly ttlMs?: number;
  /** Milliseconds before notAfter to issue the next one; undefined: a third of the lifetime. */
  readonly renewBeforeMs?: number;
}

/** spec.dynamic: credentials whose answer carries a lease, renewed and revoked by the operator. */
export interface DynamicSpec {
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly params: Readonly<Record<string, string>>;
  /** Renew when this share (percent) of the lease has passed. */
  readonly renewPercent: number;
  readonly revokeOnDelete: boolean;
}

export interface SecretDefinitionSpec {
  readonly name: string;
  readonly type: string;
  readonly keysMap: Readonly<Record<string, KeySource>>;
  readonly dataFrom: readonly DataFromSource[];
  /** Milliseconds; undefined means the operator's --reconcile-period. */
  readonly refreshIntervalMs?: number;
  readonly deletionPolicy: DeletionPolicy;
  /** Secret keys built by templates from the fetched values. */
  readonly template?: SecretTemplate;
  /** Workloads restarted when the Secret's data changes (--rollout-restart). */
  readonly rolloutRestartTargets: readonly RolloutRestartTarget[];
  readonly pki?: PkiSpec;
  readonly dynamic?: DynamicSpec;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly generation: number;
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly finalizers: readonly string[];
  readonly creationTimestamp: string;
  readonly deletionTimestamp?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export interface SecretDefinitionStatus {
  readonly observedGeneration?: number;
  readonly secretName?: string;
  readonly lastSyncTime?: string;
  readonly conditions?: readonly Condition[];
  /** The certificate in the Secret (PKI definitions): nothing secret. null in a patch removes it. */
  readonly pki?: PkiStatus | null;
  /** The lease of the credentials in the Secret (dynamic definitions), without its id. null in a patch removes it. */
  readonly dynamic?: DynamicStatus | null;
}

export interface PkiStatus {
  /** Colon-separated hex, as Vault writes it. */
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly nextRenewal: string;
}

export interface DynamicStatus {
  /** When the current credentials were issued: ties this status to the lease in the Secret. */
  readonly issuedAt: string;
  /** The lease's duration as Vault last granted it. */
  readonly leaseDurationSeconds: number;
  readonly leaseExpiresAt: string;
  readonly nextRenewal: string;
}

export interface SecretDefinition {
  readonly metadata: ObjectMeta;
  readonly spec: SecretDefinitionSpec;
  readonly status: SecretDefinitionStatus;
}
