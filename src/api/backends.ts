// What the operator says of each backend in words a user reads (status messages, log lines,
// advice): the one place where code shared by every backend finds "Vault" or "Azure Key Vault".

import { reasons } from './conditions.ts';
import type { Backend } from './types.ts';

export interface BackendWords {
  /** The service, in a sentence: "in sync with Vault". */
  readonly name: string;
  /** What one path names: "Vault path secret/app", "Key Vault secret app-db". */
  readonly pathNoun: string;
  /** The flag that sets its read rate. */
  readonly qpsFlag: string;
  /** The reason of a failure the backend gave no reason for. */
  readonly unavailable: typeof reasons.vaultUnavailable | typeof reasons.providerUnavailable;
}

export const backendWords: Readonly<Record<Backend, BackendWords>> = {
  vault: {
    name: 'Vault',
    pathNoun: 'Vault path',
    qpsFlag: '--vault.qps',
    unavailable: reasons.vaultUnavailable,
  },
  'azure-kv': {
    name: 'Azure Key Vault',
    pathNoun: 'Key Vault secret',
    qpsFlag: '--azure-kv.qps',
    unavailable: reasons.providerUnavailable,
  },
};
