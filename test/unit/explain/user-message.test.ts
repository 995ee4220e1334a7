import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { userMessage } from '../../../src/explain/user-message.ts';
import { ProviderError } from '../../../src/providers/errors.ts';

describe('an error as explain shows it', () => {
  test("a provider's error is its message alone, never what the backend said", () => {
    const error = new ProviderError(
      'VaultUnavailable',
      'Vault answered 500 to a mount lookup for secret/app',
      500,
      'permission denied for token hvs.CAESIJlWh3yF2yS5Tn4zZ9xq0aBc',
    );
    assert.equal(userMessage(error), 'Vault answered 500 to a mount lookup for secret/app');
  });

  test('any other error is its log line with credentials masked', () => {
    const error = new Error('cannot read the Vault token from /x: it holds hvs.CAESIJlWh3yF2yS5Tn4zZ9xq0aBc');
    assert.equal(userMessage(error), 'cannot read the Vault token from /x: it holds [REDACTED]');
  });
});
