import { describe, expect, it } from 'vitest';
import { copySourceIsGone } from '../../local/geoReplication.js';

describe('a replay copy that fails on the local secondary', () => {
  it('deletes the blob from the secondary when its source no longer exists', () => {
    expect(copySourceIsGone({ status: 404, errorCode: 'CannotVerifyCopySource' })).toBe(true);
    expect(copySourceIsGone({ status: 404, errorCode: 'BlobNotFound' })).toBe(true);
  });

  it('is retried, not taken for a deletion, when the copy-source check was refused or not answered', () => {
    expect(copySourceIsGone({ status: 503, errorCode: 'CannotVerifyCopySource' })).toBe(false);
    expect(copySourceIsGone({ status: 403, errorCode: 'CannotVerifyCopySource' })).toBe(false);
    expect(copySourceIsGone({ status: 500, errorCode: 'InternalError' })).toBe(false);
  });
});
