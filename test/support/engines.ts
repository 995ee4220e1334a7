// OpenBao's PKI and database engines for integration tests, each test with mounts of its own: a
// root CA and a role on a PKI mount, the stack's PostgreSQL behind a database mount, and an
// AppRole role whose policy allows exactly what the operator needs for them.

import { testStack, vaultRequest } from './stack.ts';

/** An AppRole role whose tokens carry `policy` (and OpenBao's default policy); its credentials. */
export async function issuingRole(
  name: string,
  policy: string,
): Promise<{ roleId: string; secretId: string }> {
  const { vault, state } = await testStack();
  await vault.call('PUT', `sys/policies/acl/${name}`, { policy });
  await vault.call('POST', `auth/approle/role/${name}`, {
    token_policies: [name],
    token_ttl: '1h',
    secret_id_ttl: '0',
  });
  const token = state.vault.rootToken;
  const field = async (method: string, path: string, key: string): Promise<string> => {
    const value = (
      (await vaultRequest(method, path, { token })).json['data'] as Record<string, unknown> | undefined
    )?.[key];
    if (typeof value !== 'string') throw new Error(`OpenBao gave no ${key} for role ${name}`);
    return value;
  };
  return {
    roleId: await field('GET', `auth/approle/role/${name}/role-id`, 'role_id'),
    secretId: await field('POST', `auth/approle/role/${name}/secret-id`, 'secret_id'),
  };
}

/** A PKI mount with a root CA and role `role` for names under `domain`; answers the root's PEM. */
export async function mountPki(mount: string, domain: string, role = 'web'): Promise<string> {
  const { vault } = await testStack();
  await vault.call('POST', `sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '48h' } });
  const root = (await vault.call('POST', `${mount}/root/generate/internal`, {
    common_name: `Test Root ${mount}`,
    ttl: '48h',
    key_type: 'ec',
    key_bits: 256,
  })) as { data: { certificate: string } };
  await vault.call('POST', `${mount}/roles/${role}`, {
    allowed_domains: [domain],
    allow_subdomains: true,
    allow_ip_sans: true,
    key_type: 'ec',
    key_bits: 256,
    max_ttl: '24h',
  });
  return root.data.certificate;
}

/**
 * A database mount for the stack's PostgreSQL with roles `roles` (app by default): each read of
 * creds/<role> makes a PostgreSQL role that can log in until its lease ends, and is dropped when
 * the lease is revoked.
 */
export async function mountDatabase(
  mount: string,
  ttl: { defaultTtl: string; maxTtl: string },
  roles: readonly string[] = ['app'],
): Promise<void> {
  const { vault, state } = await testStack();
  const pg = state.postgres;
  await vault.call('POST', `sys/mounts/${mount}`, { type: 'database' });
  await vault.call('POST', `${mount}/config/pg`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/${pg.database}?sslmode=disable`,
    username: pg.user,
    password: pg.password,
    allowed_roles: roles,
    verify_connection: true,
  });
  for (const role of roles)
    await vault.call('POST', `${mount}/roles/${role}`, {
      db_name: 'pg',
      creation_statements: [
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      ],
      default_ttl: ttl.defaultTtl,
      max_ttl: ttl.maxTtl,
    });
}

/** The requests an audit path names, with the lease id of a lease request cut to its path. */
export function requestKind(path: string): string {
  const lease = /^sys\/leases\/(renew|revoke)\/(.+)\/[^/]+$/.exec(path);
  return lease ? `sys/leases/${lease[1]}/${lease[2]}/<lease>` : path;
}
