// List-and-watch sources for the informers: SecretDefinitions, and the Secrets this operator
// manages (selected by label, so Secrets of others are never cached). One source per namespace
// when --watch-namespaces is set, so namespaced RBAC is enough.

import { group, managedByLabel, managedByValue, plural, version } from '../api/types.ts';
import { apiName } from './api-name.ts';
import type { KubeApi, WatchEventHandler } from './kube-api.ts';

export type { WatchEventHandler } from './kube-api.ts';

export interface ListPage<T = unknown> {
  readonly items: readonly T[];
  readonly resourceVersion: string;
}

export interface InformerSource {
  /** For logs: what is listed and where. */
  readonly description: string;
  /**
   * Every page, each item turned by `convert` into what the cache keeps as its page arrives
   * (undefined drops it), so a list never holds every whole object (a Secret's values) at once;
   * `signal` abandons the list (the informer stops).
   */
  list<T>(signal: AbortSignal | undefined, convert: (item: unknown) => T | undefined): Promise<ListPage<T>>;
  /** Starts a watch from `resourceVersion`; `done` is called once when it ends for any reason. */
  watch(
    resourceVersion: string,
    onEvent: WatchEventHandler,
    done: (error: unknown) => void,
  ): Promise<AbortController>;
}

const pageSize = 500;
const inPath = (namespace: string): string => encodeURIComponent(apiName(namespace));
export const managedSecretSelector = `${managedByLabel}=${managedByValue}`;

interface RawList {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/**
 * A list of every page (the first page's resourceVersion is the snapshot the watch starts from),
 * and a watch with bookmarks.
 */
function source(
  api: KubeApi,
  description: string,
  path: string,
  labelSelector?: string,
  /** Applied to each item before it is converted (workloads keep only what a restart reads). */
  trim: (item: unknown) => unknown = (item) => item,
): InformerSource {
  const selector = labelSelector ? { labelSelector } : {};
  return {
    description,
    async list<T>(signal: AbortSignal | undefined, convert: (item: unknown) => T | undefined) {
      const items: T[] = [];
      let continueToken: string | undefined;
      let resourceVersion = '';
      do {
        const page = (await api.getJson(
          path,
          { limit: pageSize, ...selector, ...(continueToken ? { continue: continueToken } : {}) },
          signal,
        )) as RawList;
        for (const item of page.items ?? []) {
          const kept = convert(trim(item));
          if (kept !== undefined) items.push(kept);
        }
        resourceVersion ||= page.metadata?.resourceVersion ?? '';
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return { items, resourceVersion };
    },
    watch: (resourceVersion, onEvent, done) =>
      api.watch(path, { resourceVersion, ...selector }, onEvent, done),
  };
}

export function definitionSource(api: KubeApi, namespace: string | undefined): InformerSource {
  const path = namespace
    ? `/apis/${group}/${version}/namespaces/${inPath(namespace)}/${plural}`
    : `/apis/${group}/${version}/${plural}`;
  return source(api, `${plural} in ${namespace ?? 'all namespaces'}`, path);
}

export function managedSecretSource(api: KubeApi, namespace: string | undefined): InformerSource {
  const path = namespace ? `/api/v1/namespaces/${inPath(namespace)}/secrets` : '/api/v1/secrets';
  return source(api, `managed Secrets in ${namespace ?? 'all namespaces'}`, path, managedSecretSelector);
}

/** The workload kinds a rollout restart patches, by kind: their apps/v1 resource. */
export const workloadResources = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
} as const;

export function workloadSource(
  api: KubeApi,
  kind: keyof typeof workloadResources,
  namespace: string | undefined,
): InformerSource {
  const resource = workloadResources[kind];
  const path = namespace
    ? `/apis/apps/v1/namespaces/${inPath(namespace)}/${resource}`
    : `/apis/apps/v1/${resource}`;
  return source(api, `${resource} in ${namespace ?? 'all namespaces'}`, path, undefined, trimWorkload);
}

/** What a workload's record is made of: identity, annotations, and the pod template's secret references. */
function trimWorkload(item: unknown): unknown {
  const object = (value: unknown): Record<string, unknown> =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const meta = object(object(item)['metadata']);
  const template = object(object(object(item)['spec'])['template']);
  const podSpec = object(template['spec']);
  const containers = (list: unknown): unknown[] =>
    (Array.isArray(list) ? list : []).map((c) => ({ env: object(c)['env'], envFrom: object(c)['envFrom'] }));
  return {
    metadata: {
      name: meta['name'],
      namespace: meta['namespace'],
      uid: meta['uid'],
      resourceVersion: meta['resourceVersion'],
      annotations: meta['annotations'],
    },
    spec: {
      template: {
        metadata: { annotations: object(template['metadata'])['annotations'] },
        spec: {
          containers: containers(podSpec['containers']),
          initContainers: containers(podSpec['initContainers']),
          volumes: podSpec['volumes'],
        },
      },
    },
  };
}
