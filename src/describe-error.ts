// An error as one line for a log: the first line of its message, and an HTTP status in front when
// it carries one. A client library's error that carries the answer's body (client-node's
// ApiException puts the whole body and the headers in its message) is described by its status and
// the Status object's reason and message instead, never by its own message. A provider's error
// adds what the backend said, which its message leaves out because tenants see messages.

const httpStatus = (value: unknown): number | undefined =>
  typeof value === 'number' && value >= 100 && value <= 599 ? value : undefined;

/** The reason and message of a Kubernetes Status object, as an answer's body carries it. */
function statusFields(body: unknown): { reason: string; message: string } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      parsed = undefined;
    }
  }
  const { reason, message } = (parsed ?? {}) as { reason?: unknown; message?: unknown };
  return {
    reason: typeof reason === 'string' ? reason : '',
    message: typeof message === 'string' ? (message.split('\n')[0] ?? '').slice(0, 300) : '',
  };
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, statusCode, body } = error as { code?: unknown; statusCode?: unknown; body?: unknown };
  const status = httpStatus(statusCode) ?? httpStatus(code);
  const firstLine = error.message.split('\n')[0] ?? '';
  // A provider's failure keeps what the backend said out of its message, for the log alone.
  const { detail } = error as { detail?: unknown };
  if (error.name === 'ProviderError' && typeof detail === 'string' && detail)
    return `${firstLine} (the backend said: ${detail})`;
  if (status === undefined) return firstLine;
  if (!('body' in error)) return `${status} ${firstLine}`;
  const { reason, message } = statusFields(body);
  return `${status}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`;
}
