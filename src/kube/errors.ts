// Errors from the Kubernetes client, reduced to what is safe and useful in a log or a condition:
// the HTTP status and the Status reason and message, never headers or request bodies.

export class KubeError extends Error {
  readonly status: number | undefined;
  readonly reason: string;

  constructor(status: number | undefined, reason: string, message: string) {
    super(message);
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
  }
}

export function toKubeError(error: unknown, doing: string): KubeError {
  if (error instanceof KubeError) return error;
  const failure = error as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  // Only an HTTP status counts: a DOMException's numeric code (23 for a timeout) is not one.
  const httpStatus = (value: unknown): number | undefined =>
    typeof value === 'number' && value >= 100 && value <= 599 ? value : undefined;
  const status = httpStatus(failure.statusCode) ?? httpStatus(failure.code);
  let body = failure.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      body = undefined;
    }
  }
  const statusBody = (body ?? {}) as { reason?: unknown; message?: unknown };
  const reason = typeof statusBody.reason === 'string' ? statusBody.reason : '';
  const detail =
    typeof statusBody.message === 'string'
      ? statusBody.message
      : status === undefined && typeof failure.message === 'string'
        ? failure.message.split('\n')[0]
        : '';
  return new KubeError(
    status,
    reason,
    `${doing} failed${status ? ` (${status}${reason ? ` ${reason}` : ''})` : ''}${detail ? `: ${String(detail).slice(0, 500)}` : ''}`,
  );
}
