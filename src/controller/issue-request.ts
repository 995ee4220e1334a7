// What is sent to an issuing path, and the Secret data of dynamic credentials: the functional core
// of issuing. No I/O.

import type { SecretDefinitionSpec } from '../api/types.ts';
import type { IssueRequest, SecretData } from '../providers/provider.ts';

const dataKeyPattern = /^[-._a-zA-Z0-9]+$/;

/** The request that issues for a definition. */
export function issueRequest(spec: SecretDefinitionSpec): IssueRequest {
  if (spec.pki) {
    const { pki } = spec;
    return {
      engine: 'pki',
      path: pki.path,
      method: 'POST',
      body: {
        common_name: pki.commonName,
        ...(pki.altNames.length > 0 ? { alt_names: pki.altNames.join(',') } : {}),
        ...(pki.ipSans.length > 0 ? { ip_sans: pki.ipSans.join(',') } : {}),
        ...(pki.ttlMs !== undefined ? { ttl: `${Math.ceil(pki.ttlMs / 1000)}s` } : {}),
      },
    };
  }
  const dynamic = spec.dynamic;
  if (!dynamic) throw new Error('issueRequest needs a pki or dynamic definition');
  return dynamic.method === 'POST'
    ? { engine: 'dynamic', path: dynamic.path, method: 'POST', body: dynamic.params }
    : { engine: 'dynamic', path: dynamic.path, method: 'GET' };
}

/**
 * The Secret data (base64) of dynamic credentials: every key of the answer's data, strings as they
 * are and anything else as its JSON text. A key that cannot be a Secret data key is answered by
 * name instead (the value never is).
 */
export function credentialsData(answer: SecretData): Record<string, string> | { readonly badKey: string } {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(answer)) {
    if (!dataKeyPattern.test(key) || key.length > 253) return { badKey: key };
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    Object.defineProperty(data, key, {
      value: Buffer.from(text, 'utf8').toString('base64'),
      enumerable: true,
    });
  }
  return data;
}
