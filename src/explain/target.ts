// Which definition `explain` is asked about: NAMESPACE/NAME in the cluster, or a document of a
// file (picked by NAME when the file holds several). Pure: each mistake is a UsageError whose
// message says what to fix (exit code 2).

import { parseAllDocuments } from 'yaml';
import { kind } from '../api/types.ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const namespacePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const namePattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export type ExplainTarget =
  | { readonly kind: 'cluster'; readonly namespace: string; readonly name: string }
  | {
      readonly kind: 'file';
      readonly file: string;
      /** Which document, when the file holds several SecretDefinitions. */
      readonly pick?: { readonly namespace?: string; readonly name: string };
    };

/** A namespace name (DNS-1123 label), or a UsageError saying where it came from and what it may hold. */
export function checkNamespace(namespace: string, where: string): string {
  if (!namespacePattern.test(namespace) || namespace.length > 63)
    throw new UsageError(
      `"${namespace}" is not a namespace name: lowercase letters, digits and "-", at most 63 (${where})`,
    );
  return namespace;
}

/** A SecretDefinition name (DNS-1123 subdomain), or a UsageError saying where it came from. */
export function checkName(name: string, where: string): string {
  if (name === '')
    throw new UsageError(`${where} has no metadata.name: give the SecretDefinition a name, like app-db`);
  if (!namePattern.test(name) || name.length > 253)
    throw new UsageError(
      `"${name}" is not a SecretDefinition name: lowercase letters, digits, "-" and ".", like app-db (${where})`,
    );
  return name;
}

function namesOf(text: string, what: string): { namespace?: string; name: string } {
  const parts = text.split('/');
  const [first = '', second] = parts;
  const [namespace, name] = parts.length === 2 ? [first, second ?? ''] : [undefined, first];
  if (parts.length > 2 || name === '')
    throw new UsageError(`${what} "${text}" is not NAMESPACE/NAME (for example team-a/app-db)`);
  if (namespace !== undefined) checkNamespace(namespace, `${what} is NAMESPACE/NAME`);
  checkName(name, what);
  return namespace === undefined ? { name } : { namespace, name };
}

/** `-f -` reads the definition from standard input, as kubectl does. */
export const stdinFile = '-';

/** How a file is named in messages. */
export const fileName = (file: string): string => (file === stdinFile ? 'standard input' : file);

/** A NAMESPACE/NAME and -n that name two namespaces: the caller must say which. */
function checkAgrees(given: { namespace?: string }, namespaceFlag: string | undefined, text: string): void {
  if (given.namespace !== undefined && namespaceFlag !== undefined && given.namespace !== namespaceFlag)
    throw new UsageError(
      `"${text}" names namespace ${given.namespace}, but -n says ${namespaceFlag}: drop -n or make them agree`,
    );
}

/** The target of `explain [definition] [-f file] [-n namespace]`. */
export function parseTarget(
  argument: string | undefined,
  file: string | undefined,
  namespaceFlag?: string,
): ExplainTarget {
  if (namespaceFlag !== undefined) checkNamespace(namespaceFlag, '-n, --namespace');
  if (file !== undefined) {
    if (file === '') throw new UsageError('-f needs a file name (or - for standard input)');
    if (argument === undefined) return { kind: 'file', file };
    const pick = namesOf(argument, 'the definition to pick');
    checkAgrees(pick, namespaceFlag, argument);
    return { kind: 'file', file, pick };
  }
  if (argument === undefined)
    throw new UsageError(
      'say which definition: secrets-manager explain NAMESPACE/NAME (in the cluster) or explain -f FILE (not applied yet)',
    );
  const names = namesOf(argument, 'the definition');
  if (names.namespace === undefined)
    throw new UsageError(
      `"${argument}" names no namespace: write NAMESPACE/NAME, for example team-a/${argument}`,
    );
  checkAgrees(names, namespaceFlag, argument);
  return { kind: 'cluster', namespace: names.namespace, name: names.name };
}

interface Document {
  readonly object: Record<string, unknown>;
  readonly name: string;
  readonly namespace: string | undefined;
}

function documentsOf(text: string, file: string): Document[] {
  const found: Document[] = [];
  for (const [index, document] of parseAllDocuments(text).entries()) {
    const where = `${file} (document ${index + 1})`;
    if (document.errors.length > 0)
      throw new UsageError(`${where}: not valid YAML: ${document.errors[0]?.message.split('\n')[0] ?? ''}`);
    let object: unknown;
    try {
      // Aliases are expanded with the yaml library's cap, as validate does.
      object = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      throw new UsageError(
        `${where}: not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (typeof object !== 'object' || object === null || (object as { kind?: unknown }).kind !== kind)
      continue;
    const record = object as Record<string, unknown>;
    const meta = (
      typeof record['metadata'] === 'object' && record['metadata'] !== null ? record['metadata'] : {}
    ) as Record<string, unknown>;
    found.push({
      object: record,
      name: typeof meta['name'] === 'string' ? meta['name'] : '',
      namespace: typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined,
    });
  }
  return found;
}

/** A document whose names the apiserver would take: an empty name would GET the list instead. */
function checkedNames(document: Document, file: string): Document {
  checkName(document.name, `the SecretDefinition in ${file}`);
  if (document.namespace !== undefined) checkNamespace(document.namespace, `metadata.namespace in ${file}`);
  return document;
}

/**
 * The one SecretDefinition of a file's text, or the one `pick` names. A document without a
 * namespace is in -n's namespace, so a pick NS/NAME with -n NS matches it.
 */
export function pickDocument(
  text: string,
  file: string,
  pick?: { readonly namespace?: string; readonly name: string },
  namespaceFlag?: string,
): Document {
  const documents = documentsOf(text, file);
  if (documents.length === 0) throw new UsageError(`${file} holds no SecretDefinition (kind: ${kind})`);
  const listed = documents.map((d) => (d.namespace ? `${d.namespace}/${d.name}` : d.name)).join(', ');
  if (pick) {
    const chosen = documents.filter(
      (d) =>
        d.name === pick.name &&
        (pick.namespace === undefined || (d.namespace ?? namespaceFlag) === pick.namespace),
    );
    if (chosen.length === 1 && chosen[0]) return checkedNames(chosen[0], file);
    throw new UsageError(
      chosen.length === 0
        ? `${file} has no SecretDefinition ${pick.namespace ? `${pick.namespace}/` : ''}${pick.name}; it has ${listed}`
        : `${file} has several SecretDefinitions ${pick.name}: pick one as NAMESPACE/NAME (${listed})`,
    );
  }
  if (documents.length === 1 && documents[0]) return checkedNames(documents[0], file);
  throw new UsageError(
    `${file} holds ${documents.length} SecretDefinitions (${listed}): say which, as in explain -f ${file} ${documents[0]?.name ?? 'NAME'}`,
  );
}
