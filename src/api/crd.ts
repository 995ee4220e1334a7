// The CRD manifest (crd.yaml at the package root) is the one source of truth for what a valid
// SecretDefinition is: its OpenAPI schema is compiled here and checked with a JSON-schema library.

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const crdFile = new URL('../../crd.yaml', import.meta.url);

export interface CrdManifest {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly versions: readonly {
      readonly name: string;
      readonly schema: { readonly openAPIV3Schema: Record<string, unknown> };
    }[];
  };
}

let cached: CrdManifest | undefined;

/** The parsed crd.yaml; read once, on first use. */
export function loadCrd(): CrdManifest {
  cached ??= parse(readFileSync(crdFile, 'utf8')) as CrdManifest;
  return cached;
}

/** The OpenAPI schema of one served version. */
export function versionSchema(crd: CrdManifest, version: string): Record<string, unknown> {
  const found = crd.spec.versions.find((v) => v.name === version);
  if (!found) throw new Error(`crd.yaml has no version ${version}`);
  return found.schema.openAPIV3Schema;
}
