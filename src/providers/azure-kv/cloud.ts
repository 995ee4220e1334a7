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

/** The host of a URL, without the dot a fully qualified name may end with. */
function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase().replace(/\.$/, '');
}

/** The domain of a vault URL: https://payments.vault.azure.cn -> vault.azure.cn. */
function domainOf(url: string): string {
  return hostOf(url).split('.').slice(1).join('.');
}

/**
 * Whether the URL's host can be a vault: a DNS name of at least three labels (<name>.vault.<...>),
 * not an IP address, whose domain is what its tokens are for.
 */
export function isVaultHost(url: string): boolean {
  let host: string;
  try {
    host = hostOf(url);
  } catch {
    return false;
  }
  const labels = host.split('.');
  return (
    !host.startsWith('[') && !/^[\d.]+$/.test(host) && labels.length >= 3 && labels.every((l) => l !== '')
  );
}

/** The resource a Key Vault token is asked for: https://vault.azure.net for a public-cloud vault. */
export function keyVaultResource(url: string): string {
  return `https://${domainOf(url)}`;
}

/** The Entra authority of the vault's cloud, or undefined for a domain of no known cloud. */
export function authorityOf(url: string): string | undefined {
  return authorities[domainOf(url)];
}
