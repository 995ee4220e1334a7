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
import { apiName } from './api-name.ts';
import { mergePatch, type KubeApi } from './kube-api.ts';

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
  api: KubeApi,
  workload: Pick<Workload, 'kind' | 'namespace' | 'name' | 'resourceVersion'>,
  restartedFor: Readonly<Record<string, string>>,
): Promise<Workload | undefined> {
  const request = {
    name: apiName(workload.name),
    namespace: apiName(workload.namespace),
    // Only if the workload is still the version the map was computed from: a 409 otherwise.
    body: {
      metadata: { resourceVersion: workload.resourceVersion },
      spec: {
        template: { metadata: { annotations: { [restartedForAnnotation]: JSON.stringify(restartedFor) } } },
      },
    },
  };
  const patched =
    workload.kind === 'Deployment'
      ? await api.apps.patchNamespacedDeployment(request, mergePatch)
      : workload.kind === 'StatefulSet'
        ? await api.apps.patchNamespacedStatefulSet(request, mergePatch)
        : await api.apps.patchNamespacedDaemonSet(request, mergePatch);
  return toWorkload(workload.kind, patched);
}
