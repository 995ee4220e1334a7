// Prometheus metrics: every metric of the original secrets-manager with its name and labels, and
// the ones DESIGN.md section 7 adds. Per-definition series (name, namespace) are removed with
// their definition. No value is ever a label; a Vault path is one only on the original's
// read-error series, which go when no live definition reads that path any more.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Reason } from '../api/conditions.ts';
import { SharedSeries } from './shared-series.ts';

const vaultLabels = [
  'vault_address',
  'vault_engine',
  'vault_version',
  'vault_cluster_id',
  'vault_cluster_name',
] as const;
type VaultLabel = (typeof vaultLabels)[number];

export interface VaultIdentity {
  readonly address: string;
  readonly engine: string;
  readonly version: string;
  readonly clusterId: string;
  readonly clusterName: string;
}

export class Metrics {
  readonly registry = new Registry();
  #vault: Record<VaultLabel, string> = {
    vault_address: '',
    vault_engine: '',
    vault_version: '',
    vault_cluster_id: '',
    vault_cluster_name: '',
  };
  readonly #definitionReasons = new Map<string, Reason>();
  /** The read-error series (Vault's, Azure Key Vault's, the target Secret's), each held by the definitions that counted into it. */
  readonly #readErrors = new SharedSeries();
  /** Called at every scrape to refresh gauges that are read, not pushed (token TTL, queue depth). */
  beforeScrape: () => void = () => undefined;

  readonly maxTokenTtl = new Gauge({
    name: 'secrets_manager_vault_max_token_ttl',
    help: 'secrets-manager max Vault token TTL',
    labelNames: vaultLabels,
    registers: [this.registry],
  });
  readonly tokenTtl = new Gauge({
    name: 'secrets_manager_vault_token_ttl',
    help: 'Vault token TTL',
    labelNames: vaultLabels,
    registers: [this.registry],
    collect: () => this.beforeScrape(),
  });
  readonly tokenRenewalErrors = new Counter({
    name: 'secrets_manager_vault_token_renewal_errors_total',
    help: 'Vault token renewal errors counter',
    labelNames: [...vaultLabels, 'vault_operation', 'error'],
    registers: [this.registry],
  });
  readonly vaultReadErrors = new Counter({
    name: 'secrets_manager_vault_read_secret_errors_total',
    help: 'Vault read operations counter',
    labelNames: [...vaultLabels, 'path', 'key', 'error'],
    registers: [this.registry],
  });
  readonly loginErrors = new Counter({
    name: 'secrets_manager_vault_login_errors_total',
    help: 'Vault login errors counter',
    labelNames: vaultLabels,
    registers: [this.registry],
  });
  readonly azureKvReadErrors = new Counter({
    name: 'secrets_manager_azure_kv_read_secret_errors_total',
    help: 'AzureKV read operations counter',
    labelNames: ['azure_kv_name', 'azure_kv_tenant', 'path', 'key', 'error'],
    registers: [this.registry],
  });
  readonly azureKvLoginErrors = new Counter({
    name: 'secrets_manager_azure_kv_login_errors_total',
    help: 'AzureKV login errors counter',
    labelNames: ['azure_kv_name', 'azure_kv_tenant'],
    registers: [this.registry],
  });
  readonly azureKvRequests = new Counter({
    name: 'secrets_manager_azure_kv_requests_total',
    help: 'Requests sent to Azure Key Vault, each retry counted, by HTTP status ("error": no answer)',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly rolloutRestarts = new Counter({
    name: 'secrets_manager_rollout_restarts_total',
    help: 'Workloads restarted because the data of a Secret they use changed',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly secretReadErrors = new Counter({
    name: 'secrets_manager_controller_secret_read_errors_total',
    help: 'Errors total count when reading a secret from Kubernetes',
    labelNames: ['name', 'namespace'],
    registers: [this.registry],
  });
  readonly syncErrors = new Counter({
    name: 'secrets_manager_controller_sync_errors_total',
    help: 'Secrets synchronization total errors.',
    labelNames: ['name', 'namespace'],
    registers: [this.registry],
  });
  readonly lastSyncStatus = new Gauge({
    name: 'secrets_manager_controller_last_sync_status',
    help: 'The result of the last sync of a secret. 1 = OK, 0 = Error',
    labelNames: ['name', 'namespace'],
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'secrets_manager_controller_last_success_timestamp_seconds',
    help: 'When a definition was last seen in sync (Unix seconds)',
    labelNames: ['name', 'namespace'],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'secrets_manager_reconcile_duration_seconds',
    help: 'Time to reconcile one SecretDefinition',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly vaultRequests = new Counter({
    name: 'secrets_manager_vault_requests_total',
    help: 'Requests sent to Vault',
    labelNames: ['operation', 'status'],
    registers: [this.registry],
  });
  readonly vaultRequestDuration = new Histogram({
    name: 'secrets_manager_vault_request_duration_seconds',
    help: 'Duration of Vault requests',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly readsShared = new Counter({
    name: 'secrets_manager_vault_reads_shared_total',
    help: 'Reconciles served from the shared read cache instead of a request to the backend (Vault or Azure Key Vault)',
    registers: [this.registry],
  });
  readonly polledSources = new Gauge({
    name: 'secrets_manager_vault_polled_sources',
    help: 'Distinct paths (and pinned versions) of the backend being polled',
    registers: [this.registry],
  });
  readonly refreshStretch = new Gauge({
    name: 'secrets_manager_vault_refresh_stretch_ratio',
    help: 'How much longer than asked every path waits between refreshes (1 = as asked), because the paths need more reads than --vault.qps (--azure-kv.qps) leaves to refreshes',
    registers: [this.registry],
  });
  readonly refreshDemand = new Gauge({
    name: 'secrets_manager_vault_refresh_demand_per_second',
    help: 'Reads per second the polled paths ask of the backend at their refresh intervals',
    registers: [this.registry],
  });
  readonly vaultRateLimit = new Gauge({
    name: 'secrets_manager_vault_rate_limit_qps',
    help: 'Requests per second allowed to the backend now: --vault.qps (--azure-kv.qps), or less while it answers 429, 5xx or slowly',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'secrets_manager_workqueue_depth',
    help: 'SecretDefinitions waiting to be reconciled',
    registers: [this.registry],
  });
  readonly secretWrites = new Counter({
    name: 'secrets_manager_secret_writes_total',
    help: 'Writes of Secrets to Kubernetes',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly definitions = new Gauge({
    name: 'secrets_manager_definitions',
    help: 'SecretDefinitions by the reason of their Ready condition',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly tokenExpiry = new Gauge({
    name: 'secrets_manager_vault_token_expiry_timestamp_seconds',
    help: 'When the current Vault token expires (Unix seconds)',
    registers: [this.registry],
  });
  readonly certificateExpiry = new Gauge({
    name: 'secrets_manager_certificate_expiry_timestamp_seconds',
    help: "When the certificate in a PKI definition's Secret expires (Unix seconds)",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  readonly leaseExpiry = new Gauge({
    name: 'secrets_manager_lease_expiry_timestamp_seconds',
    help: "When the lease of the credentials in a dynamic definition's Secret ends unless renewed (Unix seconds)",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  readonly certificateRenewal = new Gauge({
    name: 'secrets_manager_certificate_renewal_timestamp_seconds',
    help: "When the certificate in a PKI definition's Secret is next renewed (Unix seconds); one in the past is a renewal that has not happened",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  readonly leaseRenewal = new Gauge({
    name: 'secrets_manager_lease_renewal_timestamp_seconds',
    help: "When the lease of a dynamic definition's credentials is next renewed or replaced (Unix seconds); one in the past is a renewal that has not happened",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  readonly issued = new Counter({
    name: 'secrets_manager_issued_total',
    help: 'Certificates (engine pki) and dynamic credentials (engine dynamic) issued, by result',
    labelNames: ['engine', 'result'],
    registers: [this.registry],
  });
  readonly leaseRenewals = new Counter({
    name: 'secrets_manager_lease_renewals_total',
    help: 'Renewals of the leases of dynamic credentials, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly leaseRevocations = new Counter({
    name: 'secrets_manager_lease_revocations_total',
    help: 'Revocations of the leases of replaced or deleted dynamic credentials, by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly auditEntries = new Counter({
    name: 'secrets_manager_vault_audit_entries_total',
    help: "Entries received on Vault's audit stream (--vault.audit-listen)",
    registers: [this.registry],
  });
  readonly auditMatched = new Counter({
    name: 'secrets_manager_vault_audit_entries_matched_total',
    help: 'Audit entries that changed a path some definition reads',
    registers: [this.registry],
  });
  readonly auditDropped = new Counter({
    name: 'secrets_manager_vault_audit_entries_dropped_total',
    help: 'Audit entries (or connections) dropped, by why: unparsable, too_long, too_many_connections, other_namespace',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly auditRereads = new Counter({
    name: 'secrets_manager_vault_audit_rereads_total',
    help: 'Reads of polled paths the audit stream asked for (several changes of one path close together are one)',
    registers: [this.registry],
  });
  readonly auditConnected = new Gauge({
    name: 'secrets_manager_vault_audit_stream_connected',
    help: "1 while Vault's audit stream is connected, else 0",
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'secrets_manager_leader',
    help: '1 when this instance is the leader and writes, else 0',
    registers: [this.registry],
  });

  setVaultIdentity(identity: VaultIdentity): void {
    this.#vault = {
      vault_address: identity.address,
      vault_engine: identity.engine,
      vault_version: identity.version,
      vault_cluster_id: identity.clusterId,
      vault_cluster_name: identity.clusterName,
    };
  }

  get vaultLabels(): Readonly<Record<VaultLabel, string>> {
    return this.#vault;
  }

  /** How refreshes are paced now: the stretch, the demand, and the backend's rate limit. */
  recordStretch(stretch: { readonly factor: number; readonly demandPerSecond: number }, qps: number): void {
    this.refreshStretch.set(stretch.factor);
    this.refreshDemand.set(stretch.demandPerSecond);
    this.vaultRateLimit.set(qps);
  }

  recordSync(namespace: string, name: string, ok: boolean, reason: Reason, nowSeconds: number): void {
    this.lastSyncStatus.set({ name, namespace }, ok ? 1 : 0);
    if (ok) this.lastSuccess.set({ name, namespace }, nowSeconds);
    else this.syncErrors.inc({ name, namespace });
    this.#setReason(`${namespace}/${name}`, reason);
  }

  /**
   * A token operation failed, counted as the original counted it: a login in
   * secrets_manager_vault_login_errors_total; a renewal or lookup in the renewal errors, with the
   * original's vault_operation (renew-self, lookup-self) and error (UnknownError) values. A revoke
   * (at shutdown or after a re-login; the original never revoked) counts as revoke-self.
   */
  tokenOperationFailed(operation: 'login' | 'renew' | 'lookup' | 'revoke'): void {
    if (operation === 'login') {
      this.loginErrors.inc(this.#vault);
      return;
    }
    this.tokenRenewalErrors.inc({
      ...this.#vault,
      vault_operation: `${operation}-self`,
      error: 'UnknownError',
    });
  }

  /**
   * A read of a definition's Secret found none or failed. Labelled with the Secret's name and its
   * namespace: the original swapped the two values; here they are what the labels say.
   */
  secretReadFailed(namespace: string, definition: string, secretName: string): void {
    this.#readErrors.count(
      this.secretReadErrors,
      { name: secretName, namespace },
      `${namespace}/${definition}`,
    );
  }

  /**
   * A Vault read for `definition` (namespace/name) failed. The series carries a Vault path, as in
   * the original; it is removed when no live definition counts into it any more, so it stays bounded.
   */
  vaultReadFailed(definition: string, path: string, key: string, error: string): void {
    this.#readErrors.count(this.vaultReadErrors, { ...this.#vault, path, key, error }, definition);
  }

  /** The same for Azure Key Vault, labelled with the vault's name and tenant as the original did. */
  azureKvReadFailed(
    vault: { readonly name: string; readonly tenantId: string },
    definition: string,
    path: string,
    key: string,
    error: string,
  ): void {
    const labels = { azure_kv_name: vault.name, azure_kv_tenant: vault.tenantId, path, key, error };
    this.#readErrors.count(this.azureKvReadErrors, labels, definition);
  }

  /**
   * The definition now reads `reads` (a path and a key, "" for dataFrom) into the Secret
   * `secretName`. The read-error series it counted for a path or key it no longer reads go, and so
   * does its Secret read-error series under an earlier name: a definition pointed elsewhere, again
   * and again, does not leave a series behind each time.
   */
  definitionReads(
    namespace: string,
    name: string,
    secretName: string,
    reads: readonly { readonly path: string; readonly key: string }[],
  ): void {
    // Built only for a definition that holds a series: most syncs have counted no read error.
    let wanted: ReadonlySet<string> | undefined;
    const wantedReads = (): ReadonlySet<string> =>
      (wanted ??= new Set(reads.map((read) => JSON.stringify([read.path, read.key]))));
    this.#readErrors.release(`${namespace}/${name}`, (counter, labels) =>
      counter === this.secretReadErrors
        ? labels['name'] === secretName
        : wantedReads().has(JSON.stringify([labels['path'], labels['key']])),
    );
  }

  forgetDefinition(namespace: string, name: string): void {
    this.#readErrors.release(`${namespace}/${name}`);
    for (const metric of [
      this.lastSyncStatus,
      this.lastSuccess,
      this.syncErrors,
      this.certificateExpiry,
      this.leaseExpiry,
      this.certificateRenewal,
      this.leaseRenewal,
    ])
      metric.remove({ name, namespace });
    this.#setReason(`${namespace}/${name}`, undefined);
  }

  #setReason(key: string, reason: Reason | undefined): void {
    const before = this.#definitionReasons.get(key);
    if (before === reason) return;
    if (before !== undefined) this.definitions.dec({ reason: before });
    if (reason === undefined) this.#definitionReasons.delete(key);
    else {
      this.#definitionReasons.set(key, reason);
      this.definitions.inc({ reason });
    }
  }
}
