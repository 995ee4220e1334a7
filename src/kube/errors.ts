// Errors from the Kubernetes client, reduced to what is safe and useful in a log or a condition:
// the HTTP status and the Status reason and message, never headers or request bodies.

export class KubeError extends Error {
  readonly status: number | undefined;
  readonly reason: string;
  /** The fields the Status names as its causes (metadata.uid, data[tls.key]): names only, never values. */
  readonly causeFields: readonly string[];

  constructor(
    status: number | undefined,
    reason: string,
    message: string,
    causeFields: readonly string[] = [],
  ) {
    super(message);
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
    this.causeFields = causeFields;
  }
}

/**
 * `doing` failed, as a KubeError. `holdsSecretData`: the request carried a Secret's data, and a
 * refusal may quote it: the apiserver's validation (422: a .dockerconfigjson that is not JSON,
 * "invalid character 'h'") and an admission webhook's or policy's denial (whose text is theirs).
 * Then only the fields and the kinds of their faults are kept, or who denied it.
 */
export function toKubeError(error: unknown, doing: string, holdsSecretData = false): KubeError {
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
  const statusBody = (body ?? {}) as StatusBody;
  const reason = typeof statusBody.reason === 'string' ? statusBody.reason : '';
  const detail =
    holdsSecretData && status !== undefined
      ? refusalOfData(status, statusBody)
      : typeof statusBody.message === 'string'
        ? statusBody.message
        : status === undefined && typeof failure.message === 'string'
          ? failure.message.split('\n')[0]
          : '';
  const causes = (statusBody.details as { causes?: unknown } | undefined)?.causes;
  const causeFields = (Array.isArray(causes) ? causes : [])
    .map((cause: { field?: unknown }) => cause?.field)
    .filter((field): field is string => typeof field === 'string');
  return new KubeError(
    status,
    reason,
    `${doing} failed${status ? ` (${status}${reason ? ` ${reason}` : ''})` : ''}${detail ? `: ${String(detail).slice(0, 500)}` : ''}`,
    causeFields,
  );
}

interface StatusBody {
  readonly reason?: unknown;
  readonly message?: unknown;
  readonly details?: unknown;
}

/** An admission webhook's or a ValidatingAdmissionPolicy's denial, up to where its own text begins. */
const deniedBy = /^.*?denied (?:the )?request/;

/** What may be said of a refused request that carried a Secret's data. */
function refusalOfData(status: number, body: StatusBody): string {
  const message = typeof body.message === 'string' ? body.message : '';
  if (status === 422) return invalidFields(body.details);
  if (status === 400)
    return 'the apiserver refused the request (its message is not repeated: it may quote the Secret)';
  const denial = deniedBy.exec(message)?.[0];
  if (denial) return `${denial} (the rest is not repeated: it may quote the Secret)`;
  return message;
}

/** "data[.dockerconfigjson]: FieldValueInvalid; type: FieldValueNotSupported": the fields only. */
function invalidFields(details: unknown): string {
  const causes = (details as { causes?: unknown } | undefined)?.causes;
  const described = (Array.isArray(causes) ? causes : [])
    .map((cause: { field?: unknown; reason?: unknown }) =>
      typeof cause?.field === 'string'
        ? `${cause.field}: ${typeof cause.reason === 'string' ? cause.reason : 'invalid'}`
        : undefined,
    )
    .filter((text): text is string => text !== undefined);
  return described.length > 0
    ? `the apiserver refused ${described.join('; ')}`
    : 'the apiserver refused the Secret as invalid';
}
