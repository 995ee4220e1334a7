// What `explain` gathers before it judges a definition: the access policy's answers, the backend's
// answers for each path, the live Secret and the workloads. Plain data, so the judgement
// (explanation.ts) is a pure function that unit tests feed with plain objects.

import type { Backend, SecretDefinition, SourceVersion } from '../api/types.ts';
import type { TemplateRenderer } from '../controller/template.ts';
import type { LiveSecret } from '../kube/live-secret.ts';
import type { Workload } from '../kube/workload.ts';
import type { ResolvedPath, SecretData } from '../providers/provider.ts';
import type { Identity } from './identity.ts';

/** A backend's refusal, as the status would carry it: a reason and a message safe to show. */
export interface SourceFailure {
  readonly ok: false;
  readonly reason: string;
  readonly message: string;
}

/** One distinct path (and pinned version) the definition reads, and what became of it. */
export interface SourceOutcome {
  /** The path as the definition writes it. */
  readonly path: string;
  readonly version?: SourceVersion;
  /** The policy on the path as written: false refuses it before any request to the backend. */
  readonly mayAllow: boolean;
  /** Where the backend says it leads (and the policy's exact answer there); absent when not asked. */
  readonly resolved?:
    { readonly ok: true; readonly where: ResolvedPath; readonly allowed: boolean } | SourceFailure;
  /** What it holds; absent when not read (refused, or the lookup failed). */
  readonly read?: { readonly ok: true; readonly data: SecretData } | SourceFailure;
}

/** Where the definition came from: the cluster, or a file not (yet) applied. */
export type DefinitionOrigin =
  { readonly kind: 'cluster' } | { readonly kind: 'file'; readonly file: string; readonly applied: boolean };

export interface ExplainInputs {
  readonly definition: SecretDefinition;
  readonly origin: DefinitionOrigin;
  /** Who explain asked as. */
  readonly identity: Identity;
  readonly backend: Backend;
  /** The --access-policy in force; undefined: tenancy is off and every path is allowed. */
  readonly policy: { readonly file: string; readonly rules: number } | undefined;
  /** Whether the operator, with these flags, watches the definition's namespace at all. */
  readonly watched: boolean;
  /** --reconcile-period, for definitions without spec.refreshInterval. */
  readonly defaultRefreshMs: number;
  /** One per distinct path and version, in the order the operator asks for them. */
  readonly sources: readonly SourceOutcome[];
  /** The policy's answer for spec.pki.path or spec.dynamic.path; undefined without either. */
  readonly issuingAllowed?: boolean;
  /** The definition's target Secret as it is now (undefined: there is none), or why it could not be read. */
  readonly live: LiveSecret | undefined;
  /** Other definitions of the namespace that target the same Secret, with their creation times. */
  readonly rivals: readonly { readonly name: string; readonly createdAt: string }[];
  /** --rollout-restart, and the namespace's workloads when it is on. */
  readonly rollout:
    { readonly enabled: false } | { readonly enabled: true; readonly workloads: readonly Workload[] };
  /** Renders spec.template: a computation, done in the calling thread here. */
  readonly templates: TemplateRenderer;
}
