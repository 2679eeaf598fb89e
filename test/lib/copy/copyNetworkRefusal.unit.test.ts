import { describe, expect, it } from 'vitest';
import { isRetriableCopyFailure } from '../../../src/lib/copy/retry.js';
import { isCopySourceNetworkRefusal } from '../../../src/lib/copy/storageErrors.js';

const copyError = (statusCode: number, message: string, sourceCode?: string) =>
  Object.assign(new Error(`${message}\nRequestId:1\nTime:2026-12-01T10:00:00Z`), {
    statusCode,
    code: 'CannotVerifyCopySource',
    response: {
      headers: {
        get: (name: string) => (name === 'x-ms-copy-source-error-code' ? sourceCode : undefined),
      },
    },
  });

describe("a copy refused by the source's network rules", () => {
  it("is told from the firewall's AuthorizationFailure, by message or by the source's error code", () => {
    expect(
      isCopySourceNetworkRefusal(copyError(403, 'This request is not authorized to perform this operation.')),
    ).toBe(true);
    expect(isCopySourceNetworkRefusal(copyError(403, 'Forbidden', 'AuthorizationFailure'))).toBe(true);
  });

  it('is not a refused SAS, a missing source, or another error', () => {
    const badSas =
      'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.';
    expect(isCopySourceNetworkRefusal(copyError(403, badSas))).toBe(false);
    expect(
      isCopySourceNetworkRefusal(
        copyError(403, 'This request is not authorized to perform this operation using this permission.'),
      ),
    ).toBe(false);
    expect(isCopySourceNetworkRefusal(copyError(404, 'The specified blob does not exist.'))).toBe(false);
    expect(
      isCopySourceNetworkRefusal(new Error('This request is not authorized to perform this operation.')),
    ).toBe(false);
  });

  it('is not retried: the rules refuse it again', () => {
    const refusal = copyError(403, 'This request is not authorized to perform this operation.');
    expect(isRetriableCopyFailure(refusal)).toBe(false);
  });
});
