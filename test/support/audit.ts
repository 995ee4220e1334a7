// OpenBao's own request log (the harness's file audit device, VAULT_AUDIT_LOG): what Vault saw,
// counted from outside the operator. Tests take a mark before they start and read what came after.

import { open, stat } from 'node:fs/promises';
import { testStack, vaultRequest } from './stack.ts';

export interface AuditEntry {
  readonly type: 'request' | 'response';
  readonly path: string;
  readonly operation: string;
  /** The AppRole role of the token (or of the login) the entry belongs to, when there is one. */
  readonly role: string | undefined;
  /** The token's auth metadata: role_name (AppRole), service_account_namespace (Kubernetes), ... */
  readonly metadata: Readonly<Record<string, string>>;
  /** OpenBao's error for a refused or failed request ("permission denied"), if any. */
  readonly error: string | undefined;
}

/** Where the audit log ends now: entries after it are the test's own. */
export async function auditMark(): Promise<number> {
  const { state } = await testStack();
  return (await stat(state.vault.auditLog)).size;
}

/** Every entry written since `mark`. */
export async function auditEntriesSince(mark: number): Promise<AuditEntry[]> {
  const { state } = await testStack();
  const file = await open(state.vault.auditLog, 'r');
  try {
    const size = (await file.stat()).size;
    const buffer = Buffer.alloc(size - mark);
    await file.read(buffer, 0, buffer.length, mark);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const raw = JSON.parse(line) as {
          type: 'request' | 'response';
          auth?: { metadata?: Record<string, string> | null };
          request?: { path?: string; operation?: string };
          error?: string;
        };
        return {
          type: raw.type,
          path: raw.request?.path ?? '',
          operation: raw.request?.operation ?? '',
          role: raw.auth?.metadata?.['role_name'] ?? undefined,
          metadata: raw.auth?.metadata ?? {},
          error: raw.error || undefined,
        };
      });
  } finally {
    await file.close();
  }
}

/** A fresh AppRole role with the operator's policy, so a test can tell its operator's requests apart. */
export async function dedicatedAppRole(role: string): Promise<{ roleId: string; secretId: string }> {
  const { vault } = await testStack();
  await vault.call('POST', `auth/approle/role/${role}`, {
    token_policies: ['secrets-manager'],
    token_ttl: '1h',
    secret_id_ttl: '0',
  });
  const roleId = (
    await vaultRequest('GET', `auth/approle/role/${role}/role-id`, {
      token: (await testStack()).state.vault.rootToken,
    })
  ).json;
  const secretId = (
    await vaultRequest('POST', `auth/approle/role/${role}/secret-id`, {
      token: (await testStack()).state.vault.rootToken,
    })
  ).json;
  const field = (body: Record<string, unknown>, name: string): string => {
    const value = (body['data'] as Record<string, unknown> | undefined)?.[name];
    if (typeof value !== 'string') throw new Error(`OpenBao gave no ${name} for role ${role}`);
    return value;
  };
  return { roleId: field(roleId, 'role_id'), secretId: field(secretId, 'secret_id') };
}
