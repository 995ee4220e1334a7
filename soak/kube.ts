// The soak's own Kubernetes access, with client-node alone: the load and the checker are written
// without the operator's code, so a bug there cannot hide a bug here.

import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

export const definitionGroup = 'secrets-manager.tuenti.io';
export const definitionVersion = 'v1alpha1';
export const definitionPlural = 'secretdefinitions';
export const definitionKind = 'SecretDefinition';
/** The label and annotation the operator puts on the Secrets it manages (see docs/definitions.md). */
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'secrets-manager';
export const ownerAnnotation = 'secrets-manager.tuenti.io/owner';

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface SoakKube {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
}

export function soakKube(kubeconfig: string): SoakKube {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  return { config, core: config.makeApiClient(CoreV1Api), custom: config.makeApiClient(CustomObjectsApi) };
}

/** The HTTP status of a client-node error, or undefined for anything else (a refused connection). */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Waits `ms`, or less if `signal` aborts first. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
