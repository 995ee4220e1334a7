# Read-only access for secrets-manager to the paths it syncs. KV v2 needs data/ here even when
# SecretDefinitions leave it out.
path "secret/data/samples/*" {
  capabilities = ["read"]
}
path "kv/samples/*" {
  capabilities = ["read"]
}
