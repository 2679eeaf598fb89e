import { describe, expect, it } from 'vitest';
import { replicationStateOf } from '../../../local/emulator/replicaPromotion.js';

describe('the emulated replicationState', () => {
  it('follows the WAL receiver while the primary is reachable', () => {
    expect(replicationStateOf({ running: true, inRecovery: true, walReceiverStatus: 'streaming' })).toBe(
      'Active',
    );
    expect(replicationStateOf({ running: true, inRecovery: true, walReceiverStatus: 'catchup' })).toBe(
      'Catchup',
    );
    // Primary up but no WAL receiver: the replica cannot replicate, as Azure's Broken means.
    expect(replicationStateOf({ running: true, inRecovery: true, walReceiverStatus: null }, true)).toBe(
      'Broken',
    );
  });

  it('stays Active while the primary is unreachable, as Azure may show it', () => {
    expect(replicationStateOf({ running: true, inRecovery: true, walReceiverStatus: null }, false)).toBe(
      'Active',
    );
  });

  it('is Broken when the replica itself is down', () => {
    expect(replicationStateOf({ running: false }, false)).toBe('Broken');
  });
});
