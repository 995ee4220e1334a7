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
  printf 'path "secret/data/%s/*" {\n  capabilities = ["read"]\n}\npath "kv/%s/*" {\n  capabilities = ["read"]\n}\n' \
    "$namespace" "$namespace" | $vault policy write "secrets-manager-$namespace" -
  $vault write "auth/$mount/role/$namespace" \
    bound_service_account_names="$account" bound_service_account_namespaces="$namespace" \
    token_policies="secrets-manager-$namespace" token_ttl=15m token_max_ttl=1h
  echo "namespace $namespace: role $namespace, policy secrets-manager-$namespace"
done
