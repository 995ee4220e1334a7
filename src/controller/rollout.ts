// Rollout restarts, the pure part: which Secrets a workload's pods read, what a workload's pod
// template says it last restarted for, and whether a Secret's data calls for a restart now.
//
// A restart patches the pod template with an annotation mapping each Secret to the data id the
// pods were restarted for (see dataIdAnnotation): an opaque random id, never derived from the
// data. A restart happens once per real change of the data: never for an operator restart, a
// resync or a metadata change, because the id stays the same then.

import { randomBytes } from 'node:crypto';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
export const workloadKinds: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** On a workload: restart it when any managed Secret it reads changes. */
export const autoReloadAnnotation = 'secrets-manager.tuenti.io/auto-reload';
/** On a pod template: Secret name -> id of the data its pods were restarted for (JSON). */
export const restartedForAnnotation = 'secrets-manager.tuenti.io/restarted-for';

/** A workload as the restarts need it. */
export interface Workload {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** Annotated secrets-manager.tuenti.io/auto-reload: "true". */
  readonly autoReload: boolean;
  /** The Secrets its pod template reads (env, envFrom, volumes, projected volumes, init containers). */
  readonly secrets: readonly string[];
  /** Secret name -> data id, from its pod template's restarted-for annotation. */
  readonly restartedFor: Readonly<Record<string, string>>;
}

export function workloadKey(kind: WorkloadKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

type Json = Record<string, unknown>;
const objects = (value: unknown): Json[] =>
  Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : [];
const object = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Every Secret a pod spec reads, in init containers too. */
export function secretsOfPodSpec(podSpec: unknown): string[] {
  const spec = object(podSpec);
  const names = new Set<string>();
  const add = (name: unknown): void => {
    const found = text(name);
    if (found) names.add(found);
  };
  for (const container of [...objects(spec['containers']), ...objects(spec['initContainers'])]) {
    for (const env of objects(container['env']))
      add(object(object(env['valueFrom'])['secretKeyRef'])['name']);
    for (const from of objects(container['envFrom'])) add(object(from['secretRef'])['name']);
  }
  for (const volume of objects(spec['volumes'])) {
    add(object(volume['secret'])['secretName']);
    for (const source of objects(object(volume['projected'])['sources']))
      add(object(source['secret'])['name']);
  }
  return [...names].sort();
}

/** The restarted-for map of a pod template's annotations; anything unreadable is an empty map. */
export function restartedForOf(annotations: Readonly<Record<string, string>>): Record<string, string> {
  const raw = annotations[restartedForAnnotation];
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/**
 * On a managed Secret: an opaque id of its data, new (random) at each write that changes the data
 * and kept otherwise. It says which data the pods were restarted for without telling anything
 * about it (a hash of a short value could be guessed), and it survives operator restarts.
 */
export const dataIdAnnotation = 'secrets-manager.tuenti.io/data-id';

/** A new data id. */
export function newDataId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Whether `workload` must restart for Secret `secret` now holding the data of id `dataId`.
 * Restarted for this Secret before: when the id differs (also after an operator restart that
 * missed a change). Never restarted for it: only when this sync changed the data, since nothing
 * says whether its pods started before or after the current data.
 */
export function restartNeeded(
  workload: Workload,
  secret: string,
  dataId: string,
  dataChanged: boolean,
): boolean {
  const last = workload.restartedFor[secret];
  return last === undefined ? dataChanged : last !== dataId;
}
