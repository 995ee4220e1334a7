import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toKubeError } from '../../../src/kube/errors.ts';

test("a refused Secret (422) keeps the fields and their faults, never the apiserver's quote of a value", () => {
  const refusal = {
    code: 422,
    body: JSON.stringify({
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      message:
        'Secret "pull" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character \'q\' looking for beginning of value',
      details: {
        causes: [
          { reason: 'FieldValueInvalid', field: 'data[.dockerconfigjson]', message: "invalid character 'q'" },
          { reason: 'FieldValueRequired', field: 'data[tls.key]', message: 'Required value' },
        ],
      },
    }),
  };
  assert.equal(
    toKubeError(refusal, 'applying Secret ns/pull', true).message,
    'applying Secret ns/pull failed (422 Invalid): the apiserver refused data[.dockerconfigjson]: FieldValueInvalid; data[tls.key]: FieldValueRequired',
  );
  assert.equal(
    toKubeError({ code: 422, body: '{"reason":"Invalid"}' }, 'applying Secret ns/pull', true).message,
    'applying Secret ns/pull failed (422 Invalid): the apiserver refused the Secret as invalid',
  );
  // An admission webhook's or a policy's own words may quote the data: only who denied it.
  const denied = (message: string) =>
    toKubeError(
      { code: 403, body: JSON.stringify({ reason: 'Forbidden', message }) },
      'applying Secret ns/pull',
      true,
    ).message;
  assert.equal(
    denied('admission webhook "secrets.policy.example" denied the request: password "hunter2" is too short'),
    'applying Secret ns/pull failed (403 Forbidden): admission webhook "secrets.policy.example" denied the request (the rest is not repeated: it may quote the Secret)',
  );
  assert.equal(
    denied(
      "secrets \"pull\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: hunter2 is weak",
    ),
    "applying Secret ns/pull failed (403 Forbidden): secrets \"pull\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request (the rest is not repeated: it may quote the Secret)",
  );
  // RBAC's refusal holds no data, and says what permission is missing.
  assert.match(
    denied('secrets "pull" is forbidden: User "system:serviceaccount:sm:sm" cannot patch resource "secrets"'),
    /cannot patch resource "secrets"$/,
  );
  assert.equal(
    toKubeError({ code: 400, body: '{"reason":"BadRequest","message":"bad: hunter2"}' }, 'applying', true)
      .message,
    'applying failed (400 BadRequest): the apiserver refused the request (its message is not repeated: it may quote the Secret)',
  );
  // Without Secret data in the request, the apiserver's message is the clearest there is.
  assert.match(toKubeError(refusal, 'updating the status', false).message, /is invalid: data/);
});

test("an error with no answer gives its first line; a library error's message, with the body and headers, never", () => {
  assert.equal(
    toKubeError(new Error('connect ECONNREFUSED 127.0.0.1:6443\nmore'), 'listing').message,
    'listing failed: connect ECONNREFUSED 127.0.0.1:6443',
  );
  const library = Object.assign(new Error('HTTP-Code: 500\nMessage: x\nBody: "hunter2"\nHeaders: {}'), {
    code: 500,
    body: 'hunter2 is not JSON',
  });
  assert.equal(toKubeError(library, 'reading').message, 'reading failed (500)');
});
