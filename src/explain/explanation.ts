// What `explain` says about a definition, and the pure judgement that says it: given what was
// gathered (inputs.ts), the verdict the operator's Ready condition would carry, per key where it
// comes from and how it stands, and what applying it would change. Values pass through here to
// be compared by hash, but an Explanation holds none: only names, states, reasons and messages.

import { reasons } from '../api/conditions.ts';
import { backendWords } from '../api/backends.ts';
import { formatDuration } from '../api/duration.ts';
import type { SecretDefinition, SourceVersion } from '../api/types.ts';
import { desiredSecret, sourceId, type DesiredResult } from '../controller/desired.ts';
import { ownershipOf } from '../controller/ownership.ts';
import { notAllowed } from '../controller/source-reads.ts';
import { secretChanges, type SecretChanges } from './changes.ts';
import type { Deletion } from './deleting.ts';
import type { ExplainInputs, SourceOutcome } from './inputs.ts';
import { keyRows, type KeyRow } from './key-rows.ts';
import { rolloutOf, type RolloutExplanation } from './rollout.ts';

export interface Verdict {
  /** Whether the operator would bring the Secret in sync (Ready=True). */
  readonly ready: boolean;
  /** The Ready condition's reason, as the status would carry it. */
  readonly reason: string;
  readonly message: string;
}

/** One distinct path the definition reads, as explained. */
export interface PathRow {
  readonly path: string;
  readonly version?: SourceVersion;
  /** Where its mount ends and which KV version serves it, once the backend said so. */
  readonly resolved?: { readonly path: string; readonly mount: string; readonly kv: 1 | 2 };
  readonly policy: 'allowed' | 'denied' | 'unchecked';
  readonly read: 'found' | 'failed' | 'notRead';
  /** Why it failed or was not read: the reason and message the status would carry. */
  readonly problem?: { readonly reason: string; readonly message: string };
}

export interface Explanation {
  readonly definition: { readonly namespace: string; readonly name: string };
  readonly origin: ExplainInputs['origin'];
  readonly identity: ExplainInputs['identity'];
  readonly secret: { readonly name: string; readonly type: string };
  readonly backend: ExplainInputs['backend'];
  readonly policy: ExplainInputs['policy'];
  readonly watched: boolean;
  readonly verdict: Verdict;
  /** Whether the operator, with these flags, would sync it: ready, and in a watched namespace. */
  readonly wouldSync: boolean;
  readonly paths: readonly PathRow[];
  readonly keys: readonly KeyRow[];
  readonly changes: SecretChanges;
  readonly rollout: RolloutExplanation;
  /** Set when the definition is being deleted: what becomes of its Secret (deleting.ts). */
  readonly deletion?: Deletion;
  /** What else a user should know: the policy being off, what explain did not do. */
  readonly notes: readonly string[];
}

const failed = (reason: string, message: string): Verdict => ({ ready: false, reason, message });

function pathRow(source: SourceOutcome): PathRow {
  const { resolved, read } = source;
  const policy = !source.mayAllow
    ? 'denied'
    : resolved?.ok
      ? resolved.allowed
        ? 'allowed'
        : 'denied'
      : 'unchecked';
  const problem = read && !read.ok ? read : resolved && !resolved.ok ? resolved : undefined;
  return {
    path: source.path,
    ...(source.version === undefined ? {} : { version: source.version }),
    ...(resolved?.ok
      ? { resolved: { path: resolved.where.path, mount: resolved.where.mount, kv: resolved.where.version } }
      : {}),
    policy,
    read: read?.ok ? 'found' : problem ? 'failed' : 'notRead',
    ...(problem ? { problem: { reason: problem.reason, message: problem.message } } : {}),
  };
}

/**
 * Why the reads would fail, in the order the operator meets the failures (source-reads.ts): a
 * path the policy refuses as written, a mount lookup that fails, a path refused once resolved,
 * then a read that fails.
 */
function readFailure(inputs: ExplainInputs): Verdict | undefined {
  const { backend, definition, sources } = inputs;
  const { namespace } = definition.metadata;
  const refusal = (path: string): Verdict => {
    const { reason, message } = notAllowed(backend, namespace, path);
    return failed(reason, message);
  };
  const refused = sources.find((s) => !s.mayAllow);
  if (refused) return refusal(refused.path);
  for (const s of sources)
    if (s.resolved && !s.resolved.ok) return failed(s.resolved.reason, s.resolved.message);
  const denied = sources.find((s) => s.resolved?.ok && !s.resolved.allowed);
  if (denied) return refusal(denied.path);
  for (const s of sources) if (s.read && !s.read.ok) return failed(s.read.reason, s.read.message);
  return undefined;
}

/** Why the operator would not write this definition's Secret at all: it is someone else's. */
function ownershipFailure(inputs: ExplainInputs): Verdict | undefined {
  const { definition, live, rivals } = inputs;
  const { spec, metadata } = definition;
  const ownership = ownershipOf(live, definition);
  // The same rule as the target index: the oldest definition wins, the name breaks ties.
  const created = metadata.creationTimestamp;
  const winner = rivals.find(
    (r) => r.createdAt < created || (r.createdAt === created && r.name < metadata.name),
  );
  if (ownership.kind === 'conflict' || (ownership.kind === 'absent' && winner)) {
    const other = ownership.kind === 'conflict' ? ownership.otherDefinition : (winner?.name ?? '');
    return failed(
      reasons.conflict,
      `Secret ${spec.name} is managed by SecretDefinition ${other}; give this definition another spec.name`,
    );
  }
  if (ownership.kind === 'notOwned')
    return failed(
      reasons.secretNotOwned,
      `Secret ${spec.name} exists and ${ownership.detail}; it is left untouched: delete it or choose another spec.name`,
    );
  return undefined;
}

/** The data the reads gave, by sourceId of each path as written. */
function fetchedOf(sources: readonly SourceOutcome[]): Map<string, Readonly<Record<string, unknown>>> {
  const fetched = new Map<string, Readonly<Record<string, unknown>>>();
  for (const s of sources) if (s.read?.ok) fetched.set(sourceId(s.path, s.version), s.read.data);
  return fetched;
}

/** The definition as explain can build it: an issuing one without its templates, which read what is issued. */
function buildable(definition: SecretDefinition): SecretDefinition {
  const { spec } = definition;
  if (!(spec.pki || spec.dynamic) || !spec.template) return definition;
  const rest = { ...spec };
  Reflect.deleteProperty(rest, 'template');
  return { ...definition, spec: rest };
}

function notesOf(inputs: ExplainInputs): string[] {
  const { definition, policy, watched, origin } = inputs;
  const { spec, metadata } = definition;
  const notes: string[] = [];
  if (!policy)
    notes.push(
      'no --access-policy: tenancy is off, and this namespace may read every path the operator can read',
    );
  if (!watched)
    notes.push(
      `the operator, with these flags, does not watch namespace ${metadata.namespace} (--watch-namespaces, --exclude-namespaces): it would not sync this definition at all`,
    );
  if (origin.kind === 'file' && !origin.applied)
    notes.push(
      `SecretDefinition ${metadata.name} is not in the cluster yet: this is what applying it would do`,
    );
  const issuing = spec.pki ?? spec.dynamic;
  if (issuing) {
    const what = spec.pki ? 'a certificate' : 'credentials';
    notes.push(
      `the operator would issue ${what} at ${issuing.path} for this Secret; explain does not issue ${spec.pki ? 'it' : 'them'}, so whether the engine would is not checked`,
    );
    if (spec.template) notes.push('spec.template is not rendered: its templates read what would be issued');
  }
  return notes;
}

export async function explain(inputs: ExplainInputs): Promise<Explanation> {
  const { definition, backend, watched } = inputs;
  const { spec, metadata } = definition;
  const issuingPath = spec.pki?.path ?? spec.dynamic?.path;
  const desired: DesiredResult = await desiredSecret(
    buildable(definition),
    fetchedOf(inputs.sources),
    backend,
    inputs.templates,
  );
  const refresh = formatDuration(spec.refreshIntervalMs ?? inputs.defaultRefreshMs);
  const issuingRefused =
    issuingPath !== undefined && inputs.issuingAllowed === false
      ? notAllowed(backend, metadata.namespace, issuingPath)
      : undefined;
  const verdict: Verdict =
    ownershipFailure(inputs) ??
    (issuingRefused ? failed(issuingRefused.reason, issuingRefused.message) : undefined) ??
    readFailure(inputs) ??
    (desired.ok
      ? {
          ready: true,
          reason: reasons.synced,
          message: `Secret ${spec.name} would be in sync with ${backendWords[backend].name} (refreshed every ${refresh})`,
        }
      : failed(desired.reason, desired.message));
  const { live } = inputs;
  const built = verdict.ready && desired.ok ? desired.secret : undefined;
  const changes = secretChanges(definition, built, live, inputs.rollout.enabled);
  return {
    definition: { namespace: metadata.namespace, name: metadata.name },
    origin: inputs.origin,
    identity: inputs.identity,
    secret: { name: spec.name, type: spec.type },
    backend,
    policy: inputs.policy,
    watched,
    verdict,
    wouldSync: verdict.ready && watched,
    paths: inputs.sources.map(pathRow),
    keys: keyRows(definition, backend, inputs.sources, built, live, inputs.issuingAllowed),
    changes,
    rollout: rolloutOf(definition, inputs.rollout, changes, live),
    notes: notesOf(inputs),
  };
}
