// List-and-watch sources for the informers: SecretDefinitions, and the Secrets this operator
// manages (selected by label, so Secrets of others are never cached). One source per namespace
// when --watch-namespaces is set, so namespaced RBAC is enough.

import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { group, managedByLabel, managedByValue, plural, version } from '../api/types.ts';

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export type WatchEventHandler = (type: string, object: unknown) => void;

export interface InformerSource {
  /** For logs: what is listed and where. */
  readonly description: string;
  list(): Promise<ListPage>;
  /** Starts a watch from `resourceVersion`; `done` is called once when it ends for any reason. */
  watch(
    resourceVersion: string,
    onEvent: WatchEventHandler,
    done: (error: unknown) => void,
  ): Promise<AbortController>;
}

const pageSize = 500;
export const managedSecretSelector = `${managedByLabel}=${managedByValue}`;

interface RawList {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** Lists every page; the resourceVersion of the first page is the snapshot the watch starts from. */
async function listAll(
  fetchPage: (continueToken: string | undefined) => Promise<RawList>,
): Promise<ListPage> {
  const items: unknown[] = [];
  let continueToken: string | undefined;
  let resourceVersion = '';
  do {
    const page = await fetchPage(continueToken);
    items.push(...(page.items ?? []));
    resourceVersion ||= page.metadata?.resourceVersion ?? '';
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return { items, resourceVersion };
}

function watcher(config: KubeConfig, path: string, labelSelector?: string): InformerSource['watch'] {
  const watch = new Watch(config);
  return (resourceVersion, onEvent, done) =>
    watch.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true, ...(labelSelector ? { labelSelector } : {}) },
      (type: string, object: unknown) => onEvent(type, object),
      done,
    );
}

export function definitionSource(config: KubeConfig, namespace: string | undefined): InformerSource {
  const api = config.makeApiClient(CustomObjectsApi);
  const path = namespace
    ? `/apis/${group}/${version}/namespaces/${namespace}/${plural}`
    : `/apis/${group}/${version}/${plural}`;
  return {
    description: `${plural} in ${namespace ?? 'all namespaces'}`,
    list: () =>
      listAll(async (continueToken) => {
        const params = {
          group,
          version,
          plural,
          limit: pageSize,
          ...(continueToken ? { _continue: continueToken } : {}),
        };
        return (
          namespace
            ? await api.listNamespacedCustomObject({ ...params, namespace })
            : await api.listClusterCustomObject(params)
        ) as RawList;
      }),
    watch: watcher(config, path),
  };
}

export function managedSecretSource(config: KubeConfig, namespace: string | undefined): InformerSource {
  const api = config.makeApiClient(CoreV1Api);
  return {
    description: `managed Secrets in ${namespace ?? 'all namespaces'}`,
    list: () =>
      listAll(async (continueToken) => {
        const params = {
          labelSelector: managedSecretSelector,
          limit: pageSize,
          ...(continueToken ? { _continue: continueToken } : {}),
        };
        const list = namespace
          ? await api.listNamespacedSecret({ namespace, ...params })
          : await api.listSecretForAllNamespaces(params);
        return list;
      }),
    watch: watcher(
      config,
      namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets',
      managedSecretSelector,
    ),
  };
}
