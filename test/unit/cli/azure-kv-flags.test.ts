import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noVaultEnv, parseRun, withEnv } from '../../support/cli-config.ts';

const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const client = '00000000-0000-0000-0000-00000000c11e';

async function azure(args: readonly string[], env: Record<string, string | undefined> = {}) {
  return withEnv({ ...noVaultEnv, ...env }, () => parseRun(['--backend=azure-kv', ...args]));
}

describe('--backend azure-kv, with the original flags and variables', () => {
  test("a service principal from the original's flags; the vault URL from its name; no Vault credentials asked for", async () => {
    const { config, sources } = await azure([
      '-azure-kv.name=payments',
      `-azure-kv.tenant-id=${tenant}`,
      `-azure-kv.client-id=${client}`,
      '-azure-kv.client-secret=s3cr3t',
    ]);
    assert.deepEqual(config.azureKv, {
      name: 'payments',
      url: 'https://payments.vault.azure.net',
      resource: 'https://vault.azure.net',
      authorityHost: 'https://login.microsoftonline.com',
      disableInstanceDiscovery: false,
      tenantId: tenant,
      auth: { method: 'client-secret', tenantId: tenant, clientId: client, clientSecret: 's3cr3t' },
      qps: 100,
      burst: 200,
      timeoutMs: 5_000,
    });
    assert.equal(config.backend, 'azure-kv');
    assert.ok(sources.includes('--azure-kv.client-secret from flag'), sources.join(', '));
    assert.doesNotMatch(JSON.stringify(sources), /s3cr3t/);
  });

  test('AZURE_* variables win over the flags, as in the original', async () => {
    const { config, sources } = await azure(
      [
        '--azure-kv.name=from-flag',
        '--azure-kv.tenant-id=flag',
        '--azure-kv.client-id=flag',
        '--azure-kv.client-secret=flag',
      ],
      {
        AZURE_KV_NAME: 'from-env',
        AZURE_TENANT_ID: tenant,
        AZURE_CLIENT_ID: client,
        AZURE_CLIENT_SECRET: 'env',
      },
    );
    assert.equal(config.azureKv?.name, 'from-env');
    assert.deepEqual(config.azureKv?.auth, {
      method: 'client-secret',
      tenantId: tenant,
      clientId: client,
      clientSecret: 'env',
    });
    assert.ok(sources.includes('--azure-kv.client-secret from env AZURE_CLIENT_SECRET'), sources.join(', '));
  });

  test('a managed identity, named by client ID or resource ID, comes first, as in the original', async () => {
    const byClient = await azure([
      '--azure-kv.name=kv1',
      `--azure-kv.managed-client-id=${client}`,
      '--azure-kv.client-secret=x',
    ]);
    assert.deepEqual(byClient.config.azureKv?.auth, { method: 'managed-identity', clientId: client });
    const resource =
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/sm';
    const byResource = await azure(['--azure-kv.name=kv1'], { AZURE_MANAGED_RESOURCE_ID: resource });
    assert.deepEqual(byResource.config.azureKv?.auth, { method: 'managed-identity', resourceId: resource });
    await assert.rejects(
      azure([
        '--azure-kv.name=kv1',
        `--azure-kv.managed-client-id=${client}`,
        `--azure-kv.managed-resource-id=${resource}`,
      ]),
      /give one, not both/,
    );
  });

  test('AKS workload identity: the variables its webhook sets are enough', async () => {
    const { config } = await azure(['--azure-kv.name=kv1'], {
      AZURE_TENANT_ID: tenant,
      AZURE_CLIENT_ID: client,
      AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
    });
    assert.deepEqual(config.azureKv?.auth, {
      method: 'workload-identity',
      tenantId: tenant,
      clientId: client,
      tokenFile: '/var/run/secrets/azure/tokens/azure-identity-token',
    });
  });

  test("a sovereign cloud through --azure-kv.url: its tokens' resource and its Entra authority follow the URL", async () => {
    const login = [
      `--azure-kv.tenant-id=${tenant}`,
      `--azure-kv.client-id=${client}`,
      '--azure-kv.client-secret=s',
    ];
    const china = (await azure(['--azure-kv.url=https://payments.vault.azure.cn/', ...login])).config.azureKv;
    assert.deepEqual(
      [china?.url, china?.name, china?.resource, china?.authorityHost],
      [
        'https://payments.vault.azure.cn',
        'payments',
        'https://vault.azure.cn',
        'https://login.chinacloudapi.cn',
      ],
    );
    const government = (await azure(['--azure-kv.url=https://kv.vault.usgovcloudapi.net', ...login])).config
      .azureKv;
    assert.deepEqual(
      [government?.resource, government?.authorityHost],
      ['https://vault.usgovcloudapi.net', 'https://login.microsoftonline.us'],
    );
    // AZURE_AUTHORITY_HOST (which AKS's webhook sets) wins over the flag, which wins over the URL.
    const given = await azure(
      [
        '--azure-kv.url=https://kv.vault.azure.cn',
        '--azure-kv.authority-host=https://flag.example/',
        ...login,
      ],
      {},
    );
    assert.equal(given.config.azureKv?.authorityHost, 'https://flag.example');
    const fromEnv = await azure(
      [
        '--azure-kv.url=https://kv.vault.azure.cn',
        '--azure-kv.authority-host=https://flag.example',
        ...login,
      ],
      { AZURE_AUTHORITY_HOST: 'https://login.partner.example' },
    );
    assert.equal(fromEnv.config.azureKv?.authorityHost, 'https://login.partner.example');
    assert.ok(fromEnv.sources.includes('--azure-kv.authority-host from env AZURE_AUTHORITY_HOST'));
    // A domain of no known cloud (Azure Stack Hub) needs its authority said.
    await assert.rejects(
      azure(['--azure-kv.url=https://kv.vault.local.azurestack.external', ...login]),
      /is in no Azure cloud this operator knows .* give its Entra authority with --azure-kv\.authority-host/,
    );
    // A managed identity asks its host's metadata endpoint, which needs no authority.
    const managed = await azure([
      '--azure-kv.url=https://kv.vault.local.azurestack.external',
      `--azure-kv.managed-client-id=${client}`,
    ]);
    assert.equal(managed.config.azureKv?.authorityHost, undefined);
    for (const url of ['https://kv', 'https://10.0.0.1', 'https://[::1]']) {
      await assert.rejects(
        azure([`--azure-kv.url=${url}`, '--azure-kv.authority-host=https://login.example', ...login]),
        /must be an https:\/\/ URL of a vault named <name>\.<its cloud's domain>/,
        url,
      );
    }
    const stack = await azure([
      '--azure-kv.url=https://kv.vault.local.azurestack.external',
      '--azure-kv.authority-host=https://adfs.local.azurestack.external',
      ...login,
    ]);
    assert.equal(stack.config.azureKv?.resource, 'https://vault.local.azurestack.external');
    assert.equal(stack.config.azureKv?.disableInstanceDiscovery, false, 'discovery stays on unless asked');
    // A private authority that the public cloud cannot vouch for: trusted as given, in Go's spelling too.
    for (const flag of [
      '--azure-kv.disable-instance-discovery',
      '-azure-kv.disable-instance-discovery=true',
    ]) {
      const trusted = await azure([
        '--azure-kv.url=https://kv.vault.local.azurestack.external',
        '--azure-kv.authority-host=https://adfs.local.azurestack.external',
        flag,
        ...login,
      ]);
      assert.equal(trusted.config.azureKv?.disableInstanceDiscovery, true, flag);
    }
    // Trusting an authority as given: only one named on purpose, never the URL's default.
    await assert.rejects(
      azure(['--azure-kv.name=kv1', '--azure-kv.disable-instance-discovery', ...login]),
      /--azure-kv\.disable-instance-discovery trusts the authority as given: name it with --azure-kv\.authority-host/,
    );
    await assert.rejects(
      azure(['--azure-kv.name=kv1', '--azure-kv.authority-host=login.chinacloudapi.cn', ...login]),
      /--azure-kv\.authority-host: "login\.chinacloudapi\.cn" must be an https:\/\/ URL of a host/,
    );
  });

  test('what is missing or malformed is named, with what to give instead', async () => {
    await assert.rejects(
      azure([`--azure-kv.managed-client-id=${client}`]),
      /needs --azure-kv\.name \(or AZURE_KV_NAME\)/,
    );
    await assert.rejects(azure(['--azure-kv.name=kv1']), /needs credentials: --azure-kv\.managed-client-id/);
    await assert.rejects(
      azure(['--azure-kv.name=kv1', `--azure-kv.tenant-id=${tenant}`, `--azure-kv.client-id=${client}`]),
      /needs credentials/,
    );
    await assert.rejects(
      azure(['--azure-kv.name=a_b', `--azure-kv.managed-client-id=${client}`]),
      /is not a Key Vault name/,
    );
    await assert.rejects(
      azure(['--azure-kv.url=http://kv.example', `--azure-kv.managed-client-id=${client}`]),
      /must be an https:\/\/ URL of a vault/,
    );
  });
});

describe('--backend azure-kv and the Vault settings', () => {
  const login = ['--azure-kv.name=kv1', '--azure-kv.managed-client-id=mi'];

  test('--vault.auth-scope namespace is refused: one Azure identity reads for every namespace', async () => {
    await assert.rejects(
      azure([...login, '--vault.auth-scope=namespace']),
      /--vault\.auth-scope namespace is a Vault setting: with --backend azure-kv one Azure identity reads for every namespace/,
    );
  });

  test('a stray VAULT_ADDR does not stop it: no Vault setting is read', async () => {
    const { config } = await azure(login, { VAULT_ADDR: 'not a url' });
    assert.equal(config.backend, 'azure-kv');
  });
});
