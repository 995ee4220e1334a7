#!/usr/bin/env sh
# Vault's side of --vault.auth-scope namespace: for each namespace given, a policy that reads only
# that namespace's secrets (secret/<namespace>/* on KV v2, kv/<namespace>/* on KV v1) and a
# Kubernetes auth role named after the namespace (the operator's default --vault.tenant-role
# {namespace}), bound to the namespace's tenant service account (default: default). Vault itself
# then refuses a namespace's reads outside its own secrets, whatever its SecretDefinitions say.
#
#   setup-vault-tenants.sh team-a team-b
#
# Needs VAULT_ADDR, a VAULT_TOKEN allowed to write policies and Kubernetes auth roles, and the
# Kubernetes auth method already configured (setup-vault.sh with KUBERNETES_HOST does that).
# TENANT_SERVICE_ACCOUNT overrides the service account; KUBERNETES_AUTH_PATH the auth mount.
# With PKI_MOUNT (say pki), each namespace may also issue certificates from the role named after
# it (pki/issue/<namespace>); with DATABASE_MOUNT (say database), read credentials of the role
# named after it (database/creds/<namespace>) and renew and revoke only those leases.
set -eu
vault=${VAULT_CLI:-vault}
account=${TENANT_SERVICE_ACCOUNT:-default}
mount=${KUBERNETES_AUTH_PATH:-kubernetes}

if [ "$#" -eq 0 ]; then
  echo "usage: $0 NAMESPACE..." >&2
  exit 2
fi

for namespace in "$@"; do
  case "$namespace" in
    *[!a-z0-9-]* | '' | -* | *-)
      echo "$namespace: not a namespace name" >&2
      exit 2
      ;;
  esac
  {
    printf 'path "secret/data/%s/*" {\n  capabilities = ["read"]\n}\npath "kv/%s/*" {\n  capabilities = ["read"]\n}\n' \
      "$namespace" "$namespace"
    if [ -n "${PKI_MOUNT:-}" ]; then
      printf 'path "%s/issue/%s" {\n  capabilities = ["update"]\n}\n' "$PKI_MOUNT" "$namespace"
    fi
    if [ -n "${DATABASE_MOUNT:-}" ]; then
      printf 'path "%s/creds/%s" {\n  capabilities = ["read"]\n}\n' "$DATABASE_MOUNT" "$namespace"
      for action in renew revoke; do
        printf 'path "sys/leases/%s/%s/creds/%s/*" {\n  capabilities = ["update"]\n}\n' "$action" "$DATABASE_MOUNT" "$namespace"
      done
    fi
  } | $vault policy write "secrets-manager-$namespace" -
  $vault write "auth/$mount/role/$namespace" \
    bound_service_account_names="$account" bound_service_account_namespaces="$namespace" \
    token_policies="secrets-manager-$namespace" token_ttl=15m token_max_ttl=1h
  echo "namespace $namespace: role $namespace, policy secrets-manager-$namespace"
done
