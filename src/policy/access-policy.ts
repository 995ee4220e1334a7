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
// is the definition's namespace. A KV v2 path may be written with or without `data/` in the
// glob: a rule matches either the path as Vault's API sees it (secret/data/team/app) or the
// secret's one logical spelling (secret/team/app).

import { parseDocument } from 'yaml';
import { segmentProblem } from '../api/vault-path.ts';

export interface AccessRule {
  readonly namespaces: readonly string[];
  readonly paths: readonly string[];
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

function pathGlobProblem(glob: string): string | undefined {
  if (glob === '') return 'is empty';
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

  /** Whether a definition in `namespace` may read a secret known by any of `spellings`. */
  allows(namespace: string, spellings: readonly string[]): boolean {
    return this.#compiled.some(
      (rule) =>
        rule.namespaces.some((glob) => glob.test(namespace)) &&
        rule.paths.some((glob) => {
          const filled = glob.replaceAll(namespacePlaceholder, namespace);
          return spellings.some((path) => pathGlobMatches(filled, path));
        }),
    );
  }

  /**
   * Whether `path` could be allowed once Vault has said where its mount ends: the path as written,
   * and every place a KV v2 `data/` segment could be added or dropped. A path that fails this is
   * refused without asking Vault anything.
   */
  mayAllow(namespace: string, path: string): boolean {
    return this.allows(namespace, kvSpellings(path));
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

/** A policy document, checked whole: every problem is named, with the rule it is in. */
export function parseAccessPolicy(text: string): PolicyParse {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    return { ok: false, problems: [`not valid YAML: ${document.errors[0]?.message ?? ''}`] };
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
      const problem = pathGlobProblem(glob);
      if (problem) problems.push(`${where}.paths: ${JSON.stringify(glob)} ${problem}`);
    }
    rules.push({ namespaces, paths });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, policy: new AccessPolicy(rules) };
}
