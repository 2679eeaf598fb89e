import { describe, expect, it } from 'vitest';
import { lagBasisOf } from '../../../src/lib/health/ReplicaHealth.js';
import { walReceiverView } from '../../../src/lib/health/walReceiver.js';

describe('the lag basis when the connection user may not see the WAL receiver', () => {
  it('a receiver row with a pid and a NULL status is hidden (no pg_read_all_stats), not stopped', () => {
    expect(walReceiverView(4711, null)).toEqual({ kind: 'hidden' });
    expect(walReceiverView(null, null)).toEqual({ kind: 'none' });
    expect(walReceiverView(4711, 'streaming')).toEqual({ kind: 'visible', status: 'streaming' });
  });

  it('without a primary figure, a hidden receiver gives replay time as the basis and names the missing grant', () => {
    const { basis, missingGrant } = lagBasisOf(null, walReceiverView(4711, null), 'kyvos_dr');
    expect(basis).toBe('replay-time');
    expect(missingGrant).toBe(
      `the WAL receiver's status is hidden from the connection user "kyvos_dr", which lacks pg_read_all_stats; as the server admin on the primary, run: GRANT pg_read_all_stats TO "kyvos_dr"`,
    );
  });

  it('a streaming receiver the user can see measures against what it received, with nothing missing', () => {
    expect(lagBasisOf(null, walReceiverView(4711, 'streaming'), 'kyvos_dr')).toEqual({
      basis: 'wal-receiver',
    });
  });

  it('a stopped receiver gives replay time without blaming a grant', () => {
    expect(lagBasisOf(null, walReceiverView(null, null), 'kyvos_dr')).toEqual({ basis: 'replay-time' });
  });

  it("the primary's position needs no grant: with it, a hidden receiver does not change the basis", () => {
    expect(lagBasisOf(0, walReceiverView(4711, null), 'kyvos_dr')).toEqual({ basis: 'primary-lsn' });
  });
});
