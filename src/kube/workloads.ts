// Deployments, StatefulSets and DaemonSets as the rollout restarts see them: a small record per
// workload (never its pod template whole), and the patch that restarts one.

import {
  autoReloadAnnotation,
  restartedForAnnotation,
  restartedForOf,
  secretsOfPodSpec,
  type Workload,
  type WorkloadKind,
} from '../controller/rollout.ts';
import { contentTypes, segment, type KubeClient } from './client.ts';
import { workloadResources } from './sources.ts';

type Json = Record<string, unknown>;
const object = (value: unknown): Json => (typeof value === 'object' && value !== null ? (value as Json) : {});

function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(object(value)).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
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

/**
 * Restarts `workload`: its pod template gets the restarted-for annotation `restartedFor`, so the
 * workload's controller rolls its pods as `kubectl rollout restart` does. Answers the workload as
 * the apiserver then holds it.
 */
export async function restartWorkload(
  client: KubeClient,
  workload: Pick<Workload, 'kind' | 'namespace' | 'name' | 'resourceVersion'>,
  restartedFor: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<Workload | undefined> {
  const answer = await client.request({
    method: 'PATCH',
    path: `/apis/apps/v1/namespaces/${segment(workload.namespace)}/${workloadResources[workload.kind]}/${segment(workload.name)}`,
    contentType: contentTypes.mergePatch,
    // Only if the workload is still the version the map was computed from: a 409 otherwise.
    body: {
      metadata: { resourceVersion: workload.resourceVersion },
      spec: {
        template: { metadata: { annotations: { [restartedForAnnotation]: JSON.stringify(restartedFor) } } },
      },
    },
    ...(signal ? { signal } : {}),
  });
  return toWorkload(workload.kind, answer);
}
