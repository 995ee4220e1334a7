#!/usr/bin/env sh
# Configures a Vault (or OpenBao) for secrets-manager: the policy, an AppRole role, and a
# Kubernetes auth role bound to the secrets-manager service account. Needs VAULT_ADDR and a
# VAULT_TOKEN allowed to manage auth methods and policies; for Kubernetes auth also
# KUBERNETES_HOST and KUBERNETES_CA_FILE (Vault must be able to reach the apiserver), and, when
# Vault runs outside the cluster, TOKEN_REVIEWER_JWT: a token of a service account bound to
# system:auth-delegator.
set -eu
vault=${VAULT_CLI:-vault}
here=$(dirname "$0")

$vault policy write secrets-manager "$here/vault-policy.hcl"

$vault auth list -format=json | grep -q '"approle/"' || $vault auth enable approle
$vault write auth/approle/role/secrets-manager token_policies=secrets-manager token_ttl=1h token_max_ttl=4h secret_id_ttl=0
echo "role_id:   $($vault read -field=role_id auth/approle/role/secrets-manager/role-id)"
echo "secret_id: create one with: $vault write -f -field=secret_id auth/approle/role/secrets-manager/secret-id"

if [ -n "${KUBERNETES_HOST:-}" ]; then
  $vault auth list -format=json | grep -q '"kubernetes/"' || $vault auth enable kubernetes
  if [ -n "${TOKEN_REVIEWER_JWT:-}" ]; then
    $vault write auth/kubernetes/config kubernetes_host="$KUBERNETES_HOST" kubernetes_ca_cert=@"$KUBERNETES_CA_FILE" \
      token_reviewer_jwt="$TOKEN_REVIEWER_JWT" disable_local_ca_jwt=true
  else
    $vault write auth/kubernetes/config kubernetes_host="$KUBERNETES_HOST" kubernetes_ca_cert=@"$KUBERNETES_CA_FILE"
  fi
  $vault write auth/kubernetes/role/secrets-manager \
    bound_service_account_names=secrets-manager bound_service_account_namespaces=secrets-manager \
    token_policies=secrets-manager token_ttl=1h
fi

# PKI (config/samples/pki.yaml): a pki mount with a root CA and a role "web" for *.svc names.
if [ -n "${SETUP_PKI:-}" ]; then
  $vault secrets list -format=json | grep -q '"pki/"' || $vault secrets enable -max-lease-ttl=8760h pki
  $vault read -field=certificate pki/cert/ca >/dev/null 2>&1 ||
    $vault write -field=certificate pki/root/generate/internal common_name="secrets-manager sample root" ttl=8760h >/dev/null
  $vault write pki/roles/web allowed_domains=svc,svc.cluster.local allow_subdomains=true max_ttl=720h
fi

# Dynamic database credentials (config/samples/dynamic-database.yaml): SETUP_DATABASE is a
# PostgreSQL URL of a user that may create roles; Vault keeps it and rotates nothing.
if [ -n "${SETUP_DATABASE:-}" ]; then
  $vault secrets list -format=json | grep -q '"database/"' || $vault secrets enable database
  $vault write database/config/app plugin_name=postgresql-database-plugin allowed_roles=app \
    connection_url="$SETUP_DATABASE"
  $vault write database/roles/app db_name=app default_ttl=1h max_ttl=24h \
    creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE app TO \"{{name}}\";"
fi
