import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/option-values.ts';
import { tenantRoleFor } from '../../../src/providers/vault/config.ts';
import { configOf } from '../../support/cli-config.ts';

describe('tenancy flags', () => {
  test('operator scope is the default and needs the operator credentials', async () => {
    const config = await configOf(['--vault.role-id=r', '--vault.secret-id=s']);
    assert.equal(config.vault.authScope, 'operator');
    assert.equal(config.vault.tenant, undefined);
    assert.equal(config.accessPolicyFile, undefined);
    await assert.rejects(configOf([]), { name: 'ConfigError', message: /approle needs --vault\.role-id/ });
  });

  test('namespace scope needs no credentials of the operator and takes its defaults', async () => {
    const config = await configOf(['--vault.auth-scope=namespace']);
    assert.equal(config.vault.authScope, 'namespace');
    assert.deepEqual(config.vault.tenant, { serviceAccount: 'default', role: '{namespace}' });
  });

  test('each tenant flag reaches the config', async () => {
    const config = await configOf([
      '--vault.auth-scope',
      'namespace',
      '--vault.tenant-service-account',
      'vault-reader',
      '--vault.tenant-role=team-{namespace}',
      '--vault.kubernetes-audience=vault',
      '--access-policy=/etc/policy.yaml',
    ]);
    assert.deepEqual(config.vault.tenant, {
      serviceAccount: 'vault-reader',
      role: 'team-{namespace}',
      audience: 'vault',
    });
    assert.equal(config.accessPolicyFile, '/etc/policy.yaml');
    assert.equal(tenantRoleFor('team-{namespace}', 'payments'), 'team-payments');
  });

  test('bad values name the flag to fix', async () => {
    await assert.rejects(configOf(['--vault.auth-scope=tenant']), {
      message: '--vault.auth-scope: "tenant" is not one of operator, namespace',
    });
    await assert.rejects(
      configOf(['--vault.auth-scope=namespace', '--vault.tenant-role=a/{namespace}']),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^--vault\.tenant-role: "a\/\{namespace\}" may hold letters/);
        return true;
      },
    );
    await assert.rejects(
      configOf(['--vault.auth-scope=namespace', '--vault.tenant-role={ns}']),
      /--vault\.tenant-role/,
    );
    await assert.rejects(
      configOf(['--vault.auth-scope=namespace', '--vault.tenant-service-account=Bad_Name']),
      /--vault\.tenant-service-account: "Bad_Name"/,
    );
  });
});
