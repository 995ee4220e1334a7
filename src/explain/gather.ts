// The imperative part of `explain`: it asks what the operator would ask, through the operator's
// own clients, and writes nothing. The access policy first (a path it refuses costs no request),
// then the backend (each path's mount, then its data, read once per distinct secret), the live
// Secret, the other definitions that name it, and the workloads a restart would concern.

import { backendWords } from '../api/backends.ts';
import { group, plural, version, type Backend, type SecretDefinition } from '../api/types.ts';
import { sourceId } from '../controller/desired.ts';
import { issuingRefusal, uniqueSources, type PathAccess } from '../controller/source-reads.ts';
import type { TemplateRenderer } from '../controller/template.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { kubeSecretApi } from '../kube/secret-api.ts';
import { workloadSource } from '../kube/sources.ts';
import { toWorkload, workloadKinds, type Workload } from '../kube/workload.ts';
import { ProviderError } from '../providers/errors.ts';
import type { ProviderSources, SecretData, SourceRef } from '../providers/provider.ts';
import { couldNotCheck } from './could-not-check.ts';
import { userMessage } from './user-message.ts';
import type { ExplainInputs, SourceFailure, SourceOutcome } from './inputs.ts';

export interface GatherDeps {
  readonly kube: KubeApi;
  readonly fieldManager: string;
  readonly backend: Backend;
  readonly sources: ProviderSources;
  readonly access: PathAccess;
  readonly intervalMs: number;
  readonly rolloutRestart: boolean;
}

function failureOf(error: unknown, backend: Backend): SourceFailure {
  if (error instanceof ProviderError) return { ok: false, reason: error.reason, message: error.message };
  return { ok: false, reason: backendWords[backend].unavailable, message: userMessage(error) };
}

/**
 * What the backend says of each distinct path the definition reads. `user` is the poller's name
 * for this look, untracked before this answers: a path is read with the definition's identity,
 * afresh, once however many spellings of it the definition uses.
 */
export async function readPaths(
  deps: GatherDeps,
  definition: SecretDefinition,
  user: string,
): Promise<SourceOutcome[]> {
  const { namespace } = definition.metadata;
  const { sources, access, backend } = deps;
  const wanted = uniqueSources(definition);
  const looked = await Promise.all(
    wanted.map(async (ref): Promise<SourceOutcome> => {
      const base = { path: ref.path, ...(ref.version === undefined ? {} : { version: ref.version }) };
      if (!access.mayAllow(namespace, ref.path)) return { ...base, mayAllow: false };
      try {
        const where = await sources.resolve(ref.path);
        return {
          ...base,
          mayAllow: true,
          resolved: { ok: true, where, allowed: access.allows(namespace, where) },
        };
      } catch (error) {
        return { ...base, mayAllow: true, resolved: failureOf(error, backend) };
      }
    }),
  );
  const readOf = (o: SourceOutcome): SourceRef | undefined =>
    o.resolved?.ok && o.resolved.allowed
      ? { path: o.resolved.where.path, ...(o.version === undefined ? {} : { version: o.version }) }
      : undefined;
  const distinct = new Map<string, SourceRef>();
  for (const o of looked) {
    const read = readOf(o);
    if (read) distinct.set(sourceId(read.path, read.version), read);
  }
  if (distinct.size === 0) return looked;
  sources.track(user, [...distinct.values()], deps.intervalMs);
  try {
    const results = new Map<string, Promise<SecretData>>();
    for (const [id, read] of distinct) results.set(id, sources.get(read, true));
    return await Promise.all(
      looked.map(async (o) => {
        const read = readOf(o);
        if (!read) return o;
        try {
          const data = await (results.get(sourceId(read.path, read.version)) as Promise<SecretData>);
          return { ...o, read: { ok: true as const, data } };
        } catch (error) {
          return { ...o, read: failureOf(error, backend) };
        }
      }),
    );
  } finally {
    sources.untrack(user);
  }
}

/** The target Secret as the operator sees it (value hashes only); throws a CouldNotCheck when the caller cannot read it. */
export async function readLive(
  deps: Pick<GatherDeps, 'kube' | 'fieldManager'>,
  definition: SecretDefinition,
): Promise<ExplainInputs['live']> {
  const { namespace } = definition.metadata;
  try {
    return await kubeSecretApi(deps.kube, deps.fieldManager).read(namespace, definition.spec.name);
  } catch (error) {
    throw couldNotCheck(error, `the Secret ${definition.spec.name} in ${namespace}`);
  }
}

/** The other definitions of the namespace whose spec.name is this one's. */
export async function readRivals(
  deps: GatherDeps,
  definition: SecretDefinition,
): Promise<ExplainInputs['rivals']> {
  const { namespace, name } = definition.metadata;
  let listed: { items?: unknown[] };
  try {
    listed = (await deps.kube.customObjects.listNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
    })) as { items?: unknown[] };
  } catch (error) {
    throw couldNotCheck(error, `the other SecretDefinitions in ${namespace} (which one owns the Secret)`);
  }
  const rivals: { name: string; createdAt: string }[] = [];
  for (const item of listed.items ?? []) {
    const { metadata, spec } = (item ?? {}) as {
      metadata?: Record<string, unknown>;
      spec?: Record<string, unknown>;
    };
    const other = metadata?.['name'];
    if (typeof other !== 'string' || other === name || spec?.['name'] !== definition.spec.name) continue;
    const createdAt = metadata?.['creationTimestamp'];
    rivals.push({ name: other, createdAt: typeof createdAt === 'string' ? createdAt : '' });
  }
  return rivals;
}

/** The namespace's Deployments, StatefulSets and DaemonSets, as a restart sees them. */
export async function readWorkloads(deps: GatherDeps, namespace: string): Promise<Workload[]> {
  const lists = await Promise.all(
    workloadKinds.map((kind) =>
      workloadSource(deps.kube, kind, namespace)
        .list(undefined, (item) => toWorkload(kind, item))
        .catch((error: unknown) => {
          throw couldNotCheck(error, `the ${kind}s in ${namespace} (what a rollout restart would restart)`);
        }),
    ),
  );
  return lists.flatMap((list) => list.items);
}

/** Everything explain judges, but the definition's origin and the policy's description. */
export async function gather(
  deps: GatherDeps,
  definition: SecretDefinition,
  templates: TemplateRenderer,
): Promise<Omit<ExplainInputs, 'origin' | 'identity' | 'policy' | 'watched' | 'defaultRefreshMs'>> {
  const { namespace, name } = definition.metadata;
  const issuing = definition.spec.pki?.path ?? definition.spec.dynamic?.path;
  const [sources, live, rivals, workloads] = await Promise.all([
    readPaths(deps, definition, `${namespace}/${name} (explain)`),
    readLive(deps, definition),
    readRivals(deps, definition),
    deps.rolloutRestart ? readWorkloads(deps, namespace) : Promise.resolve(undefined),
  ]);
  return {
    definition,
    backend: deps.backend,
    sources,
    ...(issuing === undefined
      ? {}
      : {
          issuingAllowed:
            issuingRefusal({ backend: deps.backend, access: () => deps.access }, definition) === undefined,
        }),
    live,
    rivals,
    rollout: workloads ? { enabled: true, workloads } : { enabled: false },
    templates,
  };
}
