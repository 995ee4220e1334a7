// Logins refused: the reason and the operator's own words for tenants, Vault's words for the log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProviderError } from '../../../../src/providers/errors.ts';
import {
  appRoleCredentials,
  kubernetesCredentials,
  tokenCredentials,
} from '../../../../src/providers/vault/auth.ts';
import type { VaultReply, VaultTransport } from '../../../../src/providers/vault/transport.ts';
import { createVaultApi } from '../../../../src/providers/vault/vault-api.ts';

const said = 'invalid role ID "ro-123" or secret ID';

function vaultAnswering(status: number, errors: readonly string[] = [said]) {
  const transport: VaultTransport = {
    send: async (): Promise<VaultReply> => ({ status, body: { errors } }),
  };
  return createVaultApi({ address: 'http://vault.test:8200', transport });
}

const source = (value: string) => async () => value;

test("a refused login says which login and the status, never Vault's words, which only the log gets", async () => {
  const refusals = await Promise.all([
    appRoleCredentials({ mount: 'approle', roleId: source('ro-123'), secretId: source('s-456') })
      .login(vaultAnswering(400))
      .catch((e: unknown) => e),
    kubernetesCredentials({ mount: 'kubernetes', role: 'app', jwt: source('eyJ.a.b') })
      .login(vaultAnswering(503))
      .catch((e: unknown) => e),
    tokenCredentials(source('hvs.x'))
      .login(vaultAnswering(403))
      .catch((e: unknown) => e),
  ]);
  assert.deepEqual(
    refusals.map((e) => (e instanceof ProviderError ? [e.reason, e.message, e.status, e.detail] : e)),
    [
      [
        'AuthenticationFailed',
        'approle login at auth/approle was refused (400); what Vault said is in the operator log',
        400,
        said,
      ],
      ['VaultUnavailable', 'Vault answered 503 to the kubernetes login at auth/kubernetes', 503, said],
      [
        'AuthenticationFailed',
        'the Vault token was refused (403); what Vault said is in the operator log',
        403,
        said,
      ],
    ],
  );
});

test('a refusal with no words from Vault does not send the reader to the log for them', async () => {
  const refusals = await Promise.all([
    appRoleCredentials({ mount: 'approle', roleId: source('ro-123'), secretId: source('s-456') })
      .login(vaultAnswering(400, []))
      .catch((e: unknown) => e),
    tokenCredentials(source('hvs.x'))
      .login(vaultAnswering(403, []))
      .catch((e: unknown) => e),
  ]);
  assert.deepEqual(
    refusals.map((e) => (e instanceof ProviderError ? [e.message, e.detail] : e)),
    [
      ['approle login at auth/approle was refused (400); Vault gave no reason', undefined],
      ['the Vault token was refused (403); Vault gave no reason', undefined],
    ],
  );
});
