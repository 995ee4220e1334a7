// An Explanation as a JSON document for scripts: the same facts as the text, under a kind of its
// own so a reader can tell what it holds (policy null: no --access-policy, tenancy off). It holds no value, token or hash: the Explanation has none.

import type { Explanation } from './explanation.ts';

export const explanationKind = 'SecretDefinitionExplanation';

export function formatJson(e: Explanation): string {
  return `${JSON.stringify({ kind: explanationKind, ...e, policy: e.policy ?? null }, null, 2)}\n`;
}
