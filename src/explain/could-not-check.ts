// When explain cannot see what it must judge: its own Kubernetes reads (the definition, the
// Secret, the other definitions, the workloads) run with the caller's credentials, and a refusal
// says something about the caller, not about the definition. Such a failure is never a verdict:
// explain says what it could not check and exits 3 ("could not explain").

import { toKubeError } from '../kube/errors.ts';
import { redact } from '../observability/logger.ts';

export class CouldNotCheck extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CouldNotCheck';
  }
}

/** `what` (the Secret app-db in team-a, say) could not be read, as a CouldNotCheck. */
export function couldNotCheck(error: unknown, what: string): CouldNotCheck {
  const failure = toKubeError(error, `reading ${what}`);
  const why =
    failure.status === 403
      ? 'your credentials: forbidden'
      : failure.status === 401
        ? 'your credentials: unauthorized'
        : failure.message;
  return new CouldNotCheck(`could not check: ${what} (${String(redact(why))})`);
}
