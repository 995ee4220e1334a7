// Deployments, StatefulSets and DaemonSets as the rollout restarts see them: a small record per
// workload (never its pod template whole): which Secrets its pods read, and what its pod template
// says it was last restarted for.

import { autoReloadAnnotation, restartedForAnnotation } from '../api/types.ts';
import { stringMap } from '../text.ts';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
export const workloadKinds: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

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

/** The workload record of an apps/v1 object of `kind`; undefined for what is not one. */
export function toWorkload(kind: WorkloadKind, value: unknown): Workload | undefined {
  const meta = object(object(value)['metadata']);
  const template = object(object(object(value)['spec'])['template']);
  const { name, namespace, resourceVersion, uid } = meta;
  if (typeof name !== 'string' || typeof namespace !== 'string') return undefined;
  return {
    kind,
    namespace,
    name,
    uid: typeof uid === 'string' ? uid : '',
    resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '',
    autoReload: stringMap(meta['annotations'])[autoReloadAnnotation] === 'true',
    secrets: secretsOfPodSpec(template['spec']),
    restartedFor: restartedForOf(stringMap(object(template['metadata'])['annotations'])),
  };
}
