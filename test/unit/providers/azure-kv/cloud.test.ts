import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authorityOf, isVaultHost, keyVaultResource } from '../../../../src/providers/azure-kv/cloud.ts';

describe("a vault URL's cloud", () => {
  test('the resource of its tokens is its domain, as the SDK checks the challenge against it', () => {
    assert.equal(keyVaultResource('https://payments.vault.azure.net'), 'https://vault.azure.net');
    assert.equal(keyVaultResource('https://Payments.Vault.Azure.CN/'), 'https://vault.azure.cn');
    assert.equal(keyVaultResource('https://kv.vault.usgovcloudapi.net'), 'https://vault.usgovcloudapi.net');
    assert.equal(
      keyVaultResource('https://kv.vault.local.azurestack.external'),
      'https://vault.local.azurestack.external',
    );
  });

  test('the Entra authority of the public, China and US Government clouds; none for another domain', () => {
    assert.equal(authorityOf('https://kv.vault.azure.net'), 'https://login.microsoftonline.com');
    assert.equal(authorityOf('https://kv.vault.azure.cn'), 'https://login.chinacloudapi.cn');
    assert.equal(authorityOf('https://kv.vault.usgovcloudapi.net'), 'https://login.microsoftonline.us');
    assert.equal(authorityOf('https://kv.vault.local.azurestack.external'), undefined);
    assert.equal(authorityOf('https://vault.azure.net.evil.example'), undefined);
  });

  test('a vault is a DNS name of at least three labels: not an IP address, not a bare name', () => {
    for (const url of [
      'https://kv.vault.azure.net',
      'https://kv.vault.azure.net.',
      'https://kv.vault.azure.cn:443',
    ]) {
      assert.equal(isVaultHost(url), true, url);
    }
    for (const url of [
      'https://kv',
      'https://vault.azure',
      'https://10.0.0.1',
      'https://[::1]',
      'https://kv..net',
      'not a url',
    ]) {
      assert.equal(isVaultHost(url), false, url);
    }
    assert.equal(keyVaultResource('https://kv.vault.azure.net.'), 'https://vault.azure.net');
  });
});
