# Read-only access for secrets-manager to the paths it syncs. KV v2 needs data/ here even when
# SecretDefinitions leave it out.
path "secret/data/samples/*" {
  capabilities = ["read"]
}
path "kv/samples/*" {
  capabilities = ["read"]
}

# PKI definitions (config/samples/pki.yaml): issue certificates from one role.
path "pki/issue/web" {
  capabilities = ["update"]
}
# Dynamic definitions (config/samples/dynamic-database.yaml): read new credentials, and renew and
# revoke the leases of this role only (the operator puts the lease id in the request path).
path "database/creds/app" {
  capabilities = ["read"]
}
path "sys/leases/renew/database/creds/app/*" {
  capabilities = ["update"]
}
path "sys/leases/revoke/database/creds/app/*" {
  capabilities = ["update"]
}
