// The operator-side access policy: which Vault paths the SecretDefinitions of a namespace may copy
// into their Secrets. Pure: parsing a policy document and answering questions about it. The file
// that holds it is watched by policy-file.ts.
//
// A policy is a YAML list of rules; a definition's path is allowed when some rule names its
// namespace and one of the rule's path globs matches the path:
//
//   - namespaces: ["team-*"]
//     paths: ["secret/data/{namespace}/*", "kv/shared/+/config"]
//
// Namespace globs: `*` matches any run of characters. Path globs follow Vault's ACL policies: `+`
// is exactly one path segment, `*` may only end the glob and matches any remainder, `{namespace}`
// is the definition's namespace. On a KV v2 mount a glob may be written as in Vault policies, with
// `data/` after the mount (secret/data/team/*), or without it (secret/team/*): once Vault has said
// where the mount ends, that one `data/` is dropped from the glob and the glob is matched against
// the secret's one spelling (secret/team/app), so a rule never means more than it says.

import { parseDocument } from 'yaml';
import { segmentProblem } from '../api/vault-path.ts';

export interface AccessRule {
  readonly namespaces: readonly string[];
  readonly paths: readonly string[];
}

/** A secret whose mount is known: what an exact policy check needs. */
export interface PolicySecret {
  /** `<mount>/<name>`, without KV v2's data/. */
  readonly path: string;
  /** The mount, with its trailing slash. */
  readonly mount: string;
  readonly version: 1 | 2;
}

export type PolicyParse =
  | { readonly ok: true; readonly policy: AccessPolicy }
  | { readonly ok: false; readonly problems: readonly string[] };

const namespacePlaceholder = '{namespace}';
const maxRules = 10_000;

function namespaceMatcher(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Whether the path glob (with {namespace} already filled in) matches `path`. */
export function pathGlobMatches(glob: string, path: string): boolean {
  const prefixOnly = glob.endsWith('*');
  const globSegments = (prefixOnly ? glob.slice(0, -1) : glob).split('/');
  const pathSegments = path.split('/');
  if (!prefixOnly && globSegments.length !== pathSegments.length) return false;
  if (prefixOnly && pathSegments.length < globSegments.length) return false;
  for (const [index, part] of globSegments.entries()) {
    const actual = pathSegments[index] ?? '';
    const last = index === globSegments.length - 1;
    if (last && prefixOnly) {
      // `secret/team*` matches `secret/team-a/x`: the rest of the path after the prefix.
      return pathSegments.slice(index).join('/').startsWith(part);
    }
    if (part === '+') {
      if (actual === '') return false;
      continue;
    }
    if (part !== actual) return false;
  }
  return true;
}

/**
 * A rule's glob for `namespace`, in the secret's own spelling: {namespace} filled in and, on a
 * KV v2 mount, a literal `data` segment right after the mount (as Vault policies write it)
 * dropped. Only a `data` written in the rule counts: a {namespace} that happens to be "data" is a
 * folder name, never the API's data/ (otherwise namespace "data" with secret/{namespace}/* would
 * get the whole mount). Mount segments may be literal, `+` or {namespace}.
 */
export function logicalGlob(
  glob: string,
  secret: Pick<PolicySecret, 'mount' | 'version'>,
  namespace: string,
): string {
  const fill = (part: string): string => part.replaceAll(namespacePlaceholder, namespace);
  const parts = glob.split('/');
  if (secret.version === 2) {
    const mount = secret.mount.replace(/\/$/, '').split('/');
    const onMount = mount.every((segment, index) => {
      const part = parts[index];
      return part !== undefined && (part === '+' || fill(part) === segment);
    });
    if (parts.length > mount.length && onMount && parts[mount.length] === 'data') {
      parts.splice(mount.length, 1);
    }
  }
  return parts.map(fill).join('/');
}

function pathGlobProblem(glob: string): string | undefined {
  if (glob === '') return 'is empty';
  if (glob.includes(`${namespacePlaceholder}*`)) {
    return `has "${namespacePlaceholder}*", which also matches every namespace whose name starts with this one; write ${namespacePlaceholder}/*`;
  }
  const star = glob.indexOf('*');
  if (star !== -1 && star !== glob.length - 1) {
    return 'has a "*" before its end: as in Vault policies, "*" may only end a glob; use "+" for one segment';
  }
  const fixed = glob.replaceAll(namespacePlaceholder, 'ns').replace(/\*$/, '');
  if (/[{}]/.test(fixed)) return `has a "{" or "}" that is not ${namespacePlaceholder}`;
  const segments = fixed.split('/');
  for (const [index, segment] of segments.entries()) {
    // The prefix before a final "*" may end in "/" or in part of a segment.
    if (segment === '' && index === segments.length - 1 && glob.endsWith('*')) continue;
    if (segment === '+') continue;
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return undefined;
}

function stringList(value: unknown, where: string, problems: string[]): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${where}: must be a non-empty list of strings`);
    return [];
  }
  const strings = value.filter((item): item is string => typeof item === 'string');
  if (strings.length !== value.length) problems.push(`${where}: every entry must be a string`);
  return strings;
}

interface CompiledRule {
  readonly namespaces: readonly RegExp[];
  readonly paths: readonly string[];
}

export class AccessPolicy {
  readonly rules: readonly AccessRule[];
  readonly #compiled: readonly CompiledRule[];

  constructor(rules: readonly AccessRule[]) {
    this.rules = rules;
    this.#compiled = rules.map((rule) => ({
      namespaces: rule.namespaces.map(namespaceMatcher),
      paths: rule.paths,
    }));
  }

  /** Whether a definition in `namespace` may read `secret`: the exact check, once the mount is known. */
  allows(namespace: string, secret: PolicySecret): boolean {
    return this.#matches(namespace, (glob) =>
      pathGlobMatches(logicalGlob(glob, secret, namespace), secret.path),
    );
  }

  /**
   * Whether `path`, as a definition writes it, could be allowed once Vault has said where its
   * mount ends: some rule matches the path as written, or with a KV v2 `data/` added or dropped
   * at some place. A path that fails this is refused without asking Vault anything; one that
   * passes is checked exactly by allows() before it is read.
   */
  mayAllow(namespace: string, path: string): boolean {
    const spellings = kvSpellings(path);
    return this.#matches(namespace, (glob) => {
      const filled = glob.replaceAll(namespacePlaceholder, namespace);
      return spellings.some((spelling) => pathGlobMatches(filled, spelling));
    });
  }

  /** Whether a rule naming `namespace` has a path glob (as written, {namespace} unfilled) that matches. */
  #matches(namespace: string, matchesGlob: (glob: string) => boolean): boolean {
    return this.#compiled.some(
      (rule) => rule.namespaces.some((glob) => glob.test(namespace)) && rule.paths.some(matchesGlob),
    );
  }
}

/** The path as written, with `data` added after each possible mount, and with a `data` dropped. */
export function kvSpellings(path: string): string[] {
  const segments = path.split('/');
  const spellings = new Set([path]);
  for (let cut = 1; cut < segments.length; cut += 1) {
    spellings.add([...segments.slice(0, cut), 'data', ...segments.slice(cut)].join('/'));
    if (segments[cut] === 'data' && cut < segments.length - 1) {
      spellings.add([...segments.slice(0, cut), ...segments.slice(cut + 1)].join('/'));
    }
  }
  return [...spellings];
}

/** Everything is allowed: no --access-policy, as the original did. */
export const allowAll = new AccessPolicy([{ namespaces: ['*'], paths: ['*'] }]);

/**
 * Azure Key Vault names are flat, and namespace names hold "-" too: "{namespace}-*" for namespace
 * "team" also matches "team-a-db", the secrets of namespace "team-a". A {namespace} rule there
 * must name secrets exactly ("{namespace}-db": one name per namespace, never another's).
 */
function flatNameProblem(glob: string): string | undefined {
  if (!glob.includes(namespacePlaceholder) || !glob.endsWith('*')) return undefined;
  return `mixes ${namespacePlaceholder} with "*": Key Vault names are flat, so for namespace "team" it would also match the secrets of namespace "team-a"; name each secret exactly, like ${namespacePlaceholder}-db`;
}

/**
 * A policy document, checked whole: every problem is named, with the rule it is in. With flat
 * names (Azure Key Vault), a {namespace} glob must name its secrets exactly.
 */
export function parseAccessPolicy(text: string, options: { flatNames?: boolean } = {}): PolicyParse {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, problems: [`not valid YAML: ${document.errors[0]?.message.split('\n')[0] ?? ''}`] };
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      ok: false,
      problems: [`not valid YAML: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
  if (!Array.isArray(value)) {
    return {
      ok: false,
      problems: [
        'must be a YAML list of rules like "- { namespaces: [team-a], paths: [secret/data/team-a/*] }"',
      ],
    };
  }
  if (value.length > maxRules) return { ok: false, problems: [`has more than ${maxRules} rules`] };
  const problems: string[] = [];
  const rules: AccessRule[] = [];
  for (const [index, entry] of (value as unknown[]).entries()) {
    const where = `rule ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${where}: must be a mapping with namespaces and paths`);
      continue;
    }
    const unknown = Object.keys(entry).filter((key) => key !== 'namespaces' && key !== 'paths');
    if (unknown.length > 0) {
      problems.push(
        `${where}: unknown field ${unknown.map((key) => JSON.stringify(key)).join(', ')} (a rule has namespaces and paths)`,
      );
    }
    const record = entry as Record<string, unknown>;
    const namespaces = stringList(record['namespaces'], `${where}.namespaces`, problems);
    const paths = stringList(record['paths'], `${where}.paths`, problems);
    for (const glob of namespaces) {
      if (!/^[-a-z0-9*]+$/.test(glob)) {
        problems.push(
          `${where}.namespaces: ${JSON.stringify(glob)} is not a namespace name or glob (lowercase letters, digits, "-" and "*")`,
        );
      }
    }
    for (const glob of paths) {
      const problem = pathGlobProblem(glob) ?? (options.flatNames ? flatNameProblem(glob) : undefined);
      if (problem) problems.push(`${where}.paths: ${JSON.stringify(glob)} ${problem}`);
    }
    rules.push({ namespaces, paths });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, policy: new AccessPolicy(rules) };
}
