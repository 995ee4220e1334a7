// Where the definition `explain` judges comes from: the cluster, or a document of a file, which
// keeps the cluster's identity when the cluster has it and none of its own server-set fields.

import { createReadStream } from 'node:fs';
import { group, plural, version } from '../api/types.ts';
import { systemClock } from '../clock.ts';
import { toKubeError } from '../kube/errors.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { couldNotCheck } from './could-not-check.ts';
import type { DefinitionOrigin } from './inputs.ts';
import {
  checkNamespace,
  fileName,
  pickDocument,
  stdinFile,
  UsageError,
  type ExplainTarget,
} from './target.ts';

async function clusterObject(kube: KubeApi, namespace: string, name: string): Promise<unknown> {
  try {
    return await kube.customObjects.getNamespacedCustomObject({ group, version, plural, namespace, name });
  } catch (error) {
    if (toKubeError(error, `reading SecretDefinition ${namespace}/${name}`).status === 404) return undefined;
    throw couldNotCheck(error, `SecretDefinition ${namespace}/${name}`);
  }
}

type Meta = Record<string, unknown>;
const metaOf = (object: unknown): Meta =>
  ((object as { metadata?: unknown } | undefined)?.metadata ?? {}) as Meta;

/**
 * What the apiserver sets, never the author: a file copied from `kubectl get -o yaml` carries
 * another object's, and an old uid would make that object's Secret look like this one's.
 */
const serverSet = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
] as const;

function withoutServerSet(meta: Meta): Meta {
  const rest = { ...meta };
  for (const field of serverSet) Reflect.deleteProperty(rest, field);
  return rest;
}

function pickServerSet(meta: Meta): Meta {
  return Object.fromEntries(serverSet.filter((f) => meta[f] !== undefined).map((f) => [f, meta[f]]));
}

/** The most one object may be in the apiserver (etcd's request limit): a larger file is no definition. */
export const fileLimitBytes = 1.5 * 1024 * 1024;

/** The text of `input`, or a UsageError once it holds more than the apiserver takes for one object. */
async function cappedText(input: AsyncIterable<Uint8Array | string>, file: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += bytes.length;
    if (size > fileLimitBytes)
      throw new UsageError(
        `${fileName(file)} holds more than 1.5 MiB (${fileLimitBytes} bytes), the most the apiserver takes for one object: explain a file with one definition`,
      );
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A file's definition (standard input's for `-f -`), read before any connection is made: its
 * mistakes are usage errors.
 */
export async function fileDocument(
  target: ExplainTarget & { kind: 'file' },
  namespaceFlag: string | undefined,
  stdin: AsyncIterable<Uint8Array | string>,
): Promise<FileDocument> {
  let text: string;
  try {
    text = await cappedText(target.file === stdinFile ? stdin : createReadStream(target.file), target.file);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `${fileName(target.file)} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return pickDocument(text, fileName(target.file), target.pick, namespaceFlag);
}

export type FileDocument = ReturnType<typeof pickDocument>;

/** The definition to explain, as the cluster has it or as the file has it (with the cluster's identity, if applied). */
export async function loadDefinition(
  target: ExplainTarget,
  document: FileDocument | undefined,
  kube: KubeApi,
  /** -n: the namespace of a file's definition that names none. */
  namespaceFlag: string | undefined,
  contextNamespace: string | undefined,
): Promise<{ raw: unknown; origin: DefinitionOrigin }> {
  if (target.kind === 'cluster') {
    const { namespace, name } = target;
    const raw = await clusterObject(kube, namespace, name);
    if (raw === undefined)
      throw new UsageError(
        `there is no SecretDefinition ${namespace}/${name} in the cluster: check the name (kubectl get secretdefinitions -n ${namespace}), or explain a file not applied yet with -f FILE`,
      );
    return { raw, origin: { kind: 'cluster' } };
  }
  if (!document) throw new UsageError(`${fileName(target.file)} was not read`);
  if (document.namespace && namespaceFlag && document.namespace !== namespaceFlag)
    throw new UsageError(
      `${fileName(target.file)} puts SecretDefinition ${document.name} in namespace ${document.namespace}, not ${namespaceFlag}: drop --namespace or make them agree`,
    );
  const namespace =
    document.namespace ??
    namespaceFlag ??
    (contextNamespace === undefined
      ? undefined
      : checkNamespace(contextNamespace, "the kubeconfig context's namespace")) ??
    'default';
  const applied = await clusterObject(kube, namespace, document.name);
  const live = metaOf(applied);
  // Not applied yet: created now, so any definition already in the cluster is older.
  const identity = applied
    ? pickServerSet(live)
    : { creationTimestamp: new Date(systemClock.now()).toISOString().replace(/\.\d+Z$/, 'Z') };
  const raw = {
    ...document.object,
    metadata: { ...withoutServerSet(metaOf(document.object)), ...identity, namespace },
    status: applied ? (applied as { status?: unknown }).status : undefined,
  };
  return { raw, origin: { kind: 'file', file: target.file, applied: applied !== undefined } };
}
