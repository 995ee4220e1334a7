// Which Azure cloud a vault URL belongs to: the resource its tokens must be for, and the Microsoft
// Entra authority that issues them. A vault's host is <name>.<domain>, and Key Vault's tokens are
// for https://<domain> (the SDK checks the challenge against it); the sovereign clouds have
// authorities of their own.

/** The authority of each cloud whose vaults live under the domain. */
const authorities: Readonly<Record<string, string>> = {
  'vault.azure.net': 'https://login.microsoftonline.com',
  'vault.azure.cn': 'https://login.chinacloudapi.cn',
  'vault.usgovcloudapi.net': 'https://login.microsoftonline.us',
};

/** The domain of a vault URL: https://payments.vault.azure.cn -> vault.azure.cn. */
function domainOf(url: string): string {
  return new URL(url).hostname.split('.').slice(1).join('.').toLowerCase();
}

/** The resource a Key Vault token is asked for: https://vault.azure.net for a public-cloud vault. */
export function keyVaultResource(url: string): string {
  return `https://${domainOf(url)}`;
}

/** The Entra authority of the vault's cloud, or undefined for a domain of no known cloud. */
export function authorityOf(url: string): string | undefined {
  return authorities[domainOf(url)];
}
