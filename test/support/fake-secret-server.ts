// A small in-memory apiserver for Secrets, for unit tests of the write path: creates that fail on
// a taken name, applies with a uid precondition that own what they name and remove what their
// manager stops naming (unless another entry still owns it, as a create's Update entry does),
// uid-guarded deletes, and refusals a test chooses. It keeps raw objects with managedFields, so
// what the reconciler sees comes through the real toLiveSecret.

import { KubeError } from '../../src/kube/errors.ts';
import { createManager, toLiveSecret, type LiveSecret } from '../../src/kube/live-secret.ts';
import { foldCreateEntry, type SecretApi, type SecretApplyConfig } from '../../src/kube/secret-api.ts';
import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';

export type SecretCall =
  'read' | 'snapshot' | 'checkCreate' | 'create' | 'apply' | 'adoptCreatedFields' | 'delete';

interface RawSecret {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: SecretApplyConfig['ownerReferences'][number][];
    managedFields: V1ManagedFieldsEntry[];
  };
  type: string;
  data: Record<string, string>;
}

/** The managedFields set of what a config names. */
function fieldsOf(config: SecretApplyConfig): Record<string, unknown> {
  const set = (record: Readonly<Record<string, string>>) =>
    Object.fromEntries(Object.keys(record).map((k) => [`f:${k}`, {}]));
  return {
    'f:data': set(config.data),
    'f:metadata': {
      'f:labels': set(config.labels),
      'f:annotations': set(config.annotations),
      'f:ownerReferences': Object.fromEntries(
        config.ownerReferences.map((ref) => [`k:${JSON.stringify({ uid: ref.uid })}`, {}]),
      ),
    },
    'f:type': {},
  };
}

const owns = (entry: V1ManagedFieldsEntry, path: string[]): boolean => {
  let node: unknown = entry.fieldsV1;
  for (const step of path) {
    if (typeof node !== 'object' || node === null || !(step in node)) return false;
    node = (node as Record<string, unknown>)[step];
  }
  return true;
};

export class FakeSecretServer implements SecretApi {
  readonly calls: string[] = [];
  readonly #objects = new Map<string, RawSecret>();
  readonly #fieldManager: string;
  #version = 10;
  #uids = 0;
  /** Told of every call, as "<call> <what>". */
  onCall: ((what: string) => void) | undefined;
  /** A refusal of a call: throw it instead of answering. */
  refuse: ((call: SecretCall, config: SecretApplyConfig | undefined) => Error | undefined) | undefined;

  constructor(fieldManager = 'secrets-manager') {
    this.#fieldManager = fieldManager;
  }

  /** A Secret that is there before the test starts, written by `manager` (another tool, say). */
  put(config: SecretApplyConfig, manager = 'kubectl', operation: 'Update' | 'Apply' = 'Update'): LiveSecret {
    const raw = this.#raw(config, `pre-${++this.#uids}`);
    raw.metadata.managedFields = [{ manager, operation, fieldsType: 'FieldsV1', fieldsV1: fieldsOf(config) }];
    this.#objects.set(`${config.namespace}/${config.name}`, raw);
    return this.#live(raw);
  }

  /** The Secret as the apiserver holds it now, as the operator's cache would keep it. */
  get(namespace: string, name: string): LiveSecret | undefined {
    const raw = this.#objects.get(`${namespace}/${name}`);
    return raw ? this.#live(raw) : undefined;
  }

  /** A Secret's data as stored, decoded. */
  data(namespace: string, name: string): Record<string, string> | undefined {
    const raw = this.#objects.get(`${namespace}/${name}`);
    if (!raw) return undefined;
    return Object.fromEntries(
      Object.entries(raw.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
  }

  /** The keys (namespace/name) of every Secret there. */
  keys(): string[] {
    return [...this.#objects.keys()];
  }

  /** Deletes a Secret behind the operator's back. */
  remove(namespace: string, name: string): void {
    this.#objects.delete(`${namespace}/${name}`);
  }

  async read(namespace: string, name: string): Promise<LiveSecret | undefined> {
    this.#called('read', `${namespace}/${name}`);
    return this.get(namespace, name);
  }

  async snapshot(namespace: string, name: string, uid: string): Promise<SecretApplyConfig | undefined> {
    this.#called('snapshot', `${namespace}/${name}`);
    const raw = this.#objects.get(`${namespace}/${name}`);
    if (raw?.metadata.uid !== uid) return undefined;
    const { labels, annotations, ownerReferences } = raw.metadata;
    return { name, namespace, type: raw.type, labels, annotations, data: raw.data, ownerReferences };
  }

  async checkCreate(config: SecretApplyConfig): Promise<void> {
    this.#called('checkCreate', `${config.namespace}/${config.name} ${config.type}`, config);
  }

  async create(config: SecretApplyConfig): Promise<LiveSecret | 'exists'> {
    this.#called('create', `${config.namespace}/${config.name} ${config.type}`, config);
    const key = `${config.namespace}/${config.name}`;
    if (this.#objects.has(key)) return 'exists';
    const raw = this.#raw(config, `s-${++this.#uids}`);
    raw.metadata.managedFields = [
      {
        manager: createManager(this.#fieldManager),
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsOf(config),
      },
    ];
    this.#objects.set(key, raw);
    return this.#live(raw);
  }

  async apply(config: SecretApplyConfig, uid: string): Promise<LiveSecret> {
    this.#called('apply', `${config.namespace}/${config.name} ${config.type}`, config);
    const raw = this.#objects.get(`${config.namespace}/${config.name}`);
    if (!raw || raw.metadata.uid !== uid)
      throw new KubeError(409, 'Replaced', `applying Secret ${config.name}: replaced`);
    const entries = raw.metadata.managedFields;
    const before = entries.find((e) => e.manager === this.#fieldManager && e.operation === 'Apply');
    const others = entries.filter((e) => e !== before);
    const keep = (path: string[]) => others.some((e) => owns(e, path));
    // Fields this manager applied before and names no more go, unless another entry owns them.
    const prune = (
      record: Record<string, string>,
      wanted: Readonly<Record<string, string>>,
      path: string[],
    ) => {
      for (const key of Object.keys(record))
        if (!(key in wanted) && before && owns(before, [...path, `f:${key}`]) && !keep([...path, `f:${key}`]))
          delete record[key];
    };
    prune(raw.data, config.data, ['f:data']);
    prune(raw.metadata.labels, config.labels, ['f:metadata', 'f:labels']);
    prune(raw.metadata.annotations, config.annotations, ['f:metadata', 'f:annotations']);
    Object.assign(raw.data, config.data);
    Object.assign(raw.metadata.labels, config.labels);
    Object.assign(raw.metadata.annotations, config.annotations);
    raw.metadata.ownerReferences = [...config.ownerReferences];
    raw.metadata.managedFields = [
      ...others,
      { manager: this.#fieldManager, operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: fieldsOf(config) },
    ];
    raw.metadata.resourceVersion = String(++this.#version);
    return this.#live(raw);
  }

  async adoptCreatedFields(live: LiveSecret): Promise<void> {
    this.#called('adoptCreatedFields', `${live.namespace}/${live.name}`);
    const raw = this.#objects.get(`${live.namespace}/${live.name}`);
    if (!raw || raw.metadata.uid !== live.uid) throw new KubeError(409, 'Replaced', 'replaced');
    raw.metadata.managedFields = foldCreateEntry(raw.metadata.managedFields, this.#fieldManager);
    raw.metadata.resourceVersion = String(++this.#version);
  }

  async delete(namespace: string, name: string, uid: string): Promise<void> {
    this.#called('delete', `${namespace}/${name}`);
    const raw = this.#objects.get(`${namespace}/${name}`);
    if (raw?.metadata.uid === uid) this.#objects.delete(`${namespace}/${name}`);
  }

  #called(call: SecretCall, what: string, config?: SecretApplyConfig): void {
    this.calls.push(`${call} ${what}`);
    this.onCall?.(`${call} ${what}`);
    const refusal = this.refuse?.(call, config);
    if (refusal) throw refusal;
  }

  #raw(config: SecretApplyConfig, uid: string): RawSecret {
    return {
      metadata: {
        name: config.name,
        namespace: config.namespace,
        uid,
        resourceVersion: String(++this.#version),
        labels: { ...config.labels },
        annotations: { ...config.annotations },
        ownerReferences: [...config.ownerReferences],
        managedFields: [],
      },
      type: config.type,
      data: { ...config.data },
    };
  }

  #live(raw: RawSecret): LiveSecret {
    const live = toLiveSecret(structuredClone(raw), this.#fieldManager);
    if (!live) throw new Error('a fake Secret without identity');
    return live;
  }
}
