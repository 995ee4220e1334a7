// The access policy file, opened before anything runs (a missing or invalid file stops the start),
// and as a runnable that checks it for changes; without one, tenancy is off, which is said.

import type { Backend } from '../api/types.ts';
import type { Logger } from '../observability/logger.ts';
import { PolicyFile } from '../policy/policy-file.ts';
import type { Runnable } from './manager.ts';

/** How often the access policy file is checked for a change. */
const policyCheckMs = 2_000;

export async function openPolicy(
  file: string | undefined,
  backend: Backend,
  logger: Logger,
  onChange: () => void,
): Promise<{ readonly file: PolicyFile | undefined; readonly runnables: Runnable[] }> {
  if (!file) {
    logger.warn(
      backend === 'vault'
        ? 'no --access-policy: tenancy is off, and a SecretDefinition in any namespace may read every path the operator can read'
        : 'no --access-policy: tenancy is off, and a SecretDefinition in any namespace may read every secret of the Key Vault',
    );
    return { file: undefined, runnables: [] };
  }
  const policy = await PolicyFile.open({
    path: file,
    logger,
    checkEveryMs: policyCheckMs,
    onChange,
    flatNames: backend === 'azure-kv',
  });
  return {
    file: policy,
    runnables: [{ name: 'access policy file', start: () => policy.start(), stop: () => policy.stop() }],
  };
}
