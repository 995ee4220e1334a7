// An error as explain may show it to whoever runs it. describeError is for the operator log: for a
// provider's error it appends what the backend said, which may echo what it was sent. Here a
// provider's error is its message alone (what a status condition carries), and anything else is
// its log line with credentials masked, as the logger masks them.

import { describeError } from '../describe-error.ts';
import { redact } from '../observability/logger.ts';
import { ProviderError } from '../providers/errors.ts';

export function userMessage(error: unknown): string {
  if (error instanceof ProviderError) return error.message;
  return String(redact(describeError(error)));
}
