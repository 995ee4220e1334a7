// What the definition cache keeps of a SecretDefinition: the fields reconcile reads, and nothing
// else. The API object also carries managedFields and, after `kubectl apply`, a copy of the whole
// manifest in an annotation; together that is most of the object, multiplied by every definition.

import { lastAppliedAnnotation } from '../api/types.ts';

const keptMetadata = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'finalizers',
  'labels',
] as const;

export function trimDefinition(object: Record<string, unknown>): Record<string, unknown> {
  const meta = (object['metadata'] ?? {}) as Record<string, unknown>;
  const metadata: Record<string, unknown> = {};
  for (const key of keptMetadata) if (meta[key] !== undefined) metadata[key] = meta[key];
  const annotations = meta['annotations'];
  if (annotations && typeof annotations === 'object') {
    const kept = Object.entries(annotations).filter(([key]) => key !== lastAppliedAnnotation);
    if (kept.length > 0) metadata['annotations'] = Object.fromEntries(kept);
  }
  const trimmed: Record<string, unknown> = { metadata };
  for (const key of ['apiVersion', 'kind', 'spec', 'status'] as const) {
    if (object[key] !== undefined) trimmed[key] = object[key];
  }
  return trimmed;
}
