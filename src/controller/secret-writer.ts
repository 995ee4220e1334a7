// The write step of a sync: brings the live Secret to the desired one with the fewest requests,
// never writing a Secret the operator does not own. A Secret that is not there is created (a POST,
// which fails on a Secret that appeared meanwhile instead of taking it over); one that is there is
// applied over its uid; a type change is checked in a dry run, then the old Secret is deleted and
// the new one created.

import { dataIdAnnotation, ownerAnnotation, type SecretDefinition } from '../api/types.ts';
import { KubeError } from '../kube/errors.ts';
import type { LiveSecret } from '../kube/live-secret.ts';
import type { SecretApi, SecretApplyConfig } from '../kube/secret-api.ts';
import type { DesiredSecret } from './desired.ts';
import { driftOf, holdsData, removesWritten } from './drift.ts';
import type { Change } from './reporter.ts';
import { newDataId } from './rollout.ts';
import { secretKey } from './secret-index.ts';

export interface SecretWriterDeps {
  readonly secrets: SecretApi;
  /** A Secret the operator just wrote; `basedOn`: the resourceVersion the write started from. */
  readonly rememberSecret: (secret: LiveSecret, basedOn: string | undefined) => void;
  readonly forgetSecret: (key: string) => void;
  /** Whether rollout restarts are on: the data then carries an id. */
  readonly dataIds: boolean;
  readonly written: (operation: 'create' | 'update' | 'delete') => void;
}

export type WriteOutcome =
  /** `changed`: what changed, for the Event (undefined: nothing was written). */
  | {
      readonly kind: 'written';
      readonly changed: Change | undefined;
      readonly secret: LiveSecret | undefined;
    }
  /** A Secret of that name was there when the operator went to create it: look at it first. */
  | { readonly kind: 'taken' };

function applyConfig(desired: DesiredSecret, ours: Readonly<Record<string, string>>): SecretApplyConfig {
  return {
    name: desired.name,
    namespace: desired.namespace,
    type: desired.type,
    labels: desired.labels,
    annotations: { ...desired.annotations, ...ours },
    data: desired.data,
    ownerReferences: desired.ownerReference ? [desired.ownerReference] : [],
  };
}

/** Writes the desired Secret if anything differs; `live`: the Secret as the operator last saw it, owned. */
export async function writeSecret(
  deps: SecretWriterDeps,
  definition: SecretDefinition,
  desired: DesiredSecret,
  live: LiveSecret | undefined,
  adopting: boolean,
): Promise<WriteOutcome> {
  const { secrets } = deps;
  // With rollout restarts, the data carries an id: kept while the data stays, new when it changes.
  const sameData = live !== undefined && holdsData(live, desired.data);
  const dataId = deps.dataIds ? (sameData ? live.annotations[dataIdAnnotation] : newDataId()) : undefined;
  const ours = {
    [ownerAnnotation]: definition.metadata.name,
    ...(dataId ? { [dataIdAnnotation]: dataId } : {}),
  };
  const drift = driftOf(desired, live, ours);
  if (drift.kind === 'none') return { kind: 'written', changed: undefined, secret: live };
  const config = applyConfig(desired, ours);

  if (drift.kind === 'update' && live) {
    // The fields of the operator's create are an Update of their own, which an apply never
    // removes: folded into the operator's apply first, once, when this apply removes one.
    if (live.createdFields && removesWritten(desired, live, ours)) await secrets.adoptCreatedFields(live);
    const written = await secrets.apply(config, live.uid);
    deps.rememberSecret(written, live.resourceVersion);
    deps.written('update');
    const verb = adopting ? 'adopted' : 'updated';
    return {
      kind: 'written',
      changed: { kind: 'update', text: `${verb} Secret ${desired.name} (${drift.why})` },
      secret: written,
    };
  }

  let previous: SecretApplyConfig | undefined;
  if (drift.kind === 'recreate' && live) {
    // The type of a Secret cannot change: it is deleted and created anew. Only once the
    // apiserver said it would take the new one, so a refused type leaves the last good Secret;
    // and should the create be refused all the same (a quota or a webhook that changed in
    // between), the old Secret, read just before, is put back.
    await secrets.checkCreate(config);
    previous = await secrets.snapshot(live.namespace, live.name, live.uid);
    await secrets.delete(live.namespace, live.name, live.uid);
    deps.forgetSecret(secretKey(live.namespace, live.name));
    deps.written('delete');
  }
  const created = previous ? await createOrPutBack(deps, config, previous) : await secrets.create(config);
  if (created === 'exists') return { kind: 'taken' };
  deps.rememberSecret(created, undefined);
  deps.written('create');
  const changed: Change =
    drift.kind === 'recreate'
      ? {
          kind: 'recreate',
          text: `recreated Secret ${desired.name}: its type changed from ${drift.from} to ${drift.to}`,
        }
      : { kind: 'create', text: `created Secret ${desired.name}` };
  return { kind: 'written', changed, secret: created };
}

/**
 * Creates the new Secret of a type change; if the apiserver refuses it, creates `previous` (the
 * Secret just deleted) again, and throws the refusal saying whether the old Secret is back.
 */
async function createOrPutBack(
  deps: SecretWriterDeps,
  config: SecretApplyConfig,
  previous: SecretApplyConfig,
): Promise<LiveSecret | 'exists'> {
  try {
    return await deps.secrets.create(config);
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    let restored: string;
    try {
      const back = await deps.secrets.create(previous);
      if (back !== 'exists') {
        deps.rememberSecret(back, undefined);
        deps.written('create');
      }
      restored =
        back === 'exists'
          ? 'a Secret of that name was created meanwhile by someone else'
          : `Secret ${previous.name} was put back as it was (type ${previous.type})`;
    } catch (putBack) {
      restored = `putting Secret ${previous.name} back failed too: ${putBack instanceof Error ? putBack.message : String(putBack)}`;
    }
    throw new KubeError(error.status, error.reason, `${error.message}; ${restored}`, error.causeFields);
  }
}
