import { describe, expect, it } from 'vitest';
import {
  GeoReplicationLog,
  type ReplicatedWrite,
  type ReplicationConditions,
} from '../../local/geoReplicationLog.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const running = (delayMs: number): ReplicationConditions => ({ delayMs, pausedAt: null, halted: false });

/**
 * A primary and a secondary as maps of blob contents, driven by a fake clock: writes go to the
 * primary, are recorded with their staged content, and `tick` replays what is due as the
 * replicator does.
 */
function pair(delayMs: number) {
  let now = T0;
  const primary = new Map<string, string>();
  const secondary = new Map<string, string>();
  const staged = new Map<string, string>();
  const log = new GeoReplicationLog(now, delayMs);
  let conditions = running(delayMs);
  const replay = (write: ReplicatedWrite) => {
    if (write.kind !== 'blob') return;
    if (write.staged === null) secondary.delete(write.blob);
    else secondary.set(write.blob, staged.get(write.staged) as string);
  };
  return {
    primary,
    secondary,
    log,
    at: (ms: number) => {
      now = T0 + ms;
    },
    set conditions(c: ReplicationConditions) {
      conditions = c;
    },
    write(blob: string, content: string | null) {
      if (content === null) primary.delete(blob);
      else primary.set(blob, content);
      const seq = log.reserveSeq();
      if (content !== null) staged.set(String(seq), content);
      log.record(
        seq,
        { kind: 'blob', container: 'c', blob, staged: content === null ? null : String(seq) },
        now,
      );
    },
    tick() {
      const target = log.target(now, conditions);
      for (const logged of log.due(target)) {
        replay(logged.write);
        log.replayed(logged);
      }
      log.syncedTo(target);
    },
  };
}

describe('the lagging secondary of the local stack', () => {
  it('lacks a write younger than the delay, and holds it once lastSyncTime has passed it', () => {
    const p = pair(5_000);
    p.at(10_200);
    p.write('a', '1');
    p.at(14_900);
    p.tick();
    expect(p.secondary.has('a')).toBe(false);
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 9_000);
    // 15.2 s - 5 s is 10.2 s, to the second 10 s: still before the write.
    p.at(15_200);
    p.tick();
    expect(p.secondary.has('a')).toBe(false);
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 10_000);
    p.at(16_000);
    p.tick();
    expect(p.secondary.get('a')).toBe('1');
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 11_000);
  });

  it('reports lastSyncTime to the second, never past a write it has not replayed', () => {
    const p = pair(2_000);
    p.at(3_700);
    p.write('a', '1');
    p.at(5_699);
    p.tick();
    // 5.699 s - 2 s = 3.699 s, to the second: 3 s; the write at 3.7 s is not on the secondary.
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 3_000);
    expect(p.secondary.has('a')).toBe(false);
  });

  it('keeps the old version of a blob overwritten after lastSyncTime, and a blob deleted after it', () => {
    const p = pair(3_000);
    p.at(1_000);
    p.write('kept', 'old');
    p.write('deleted', 'x');
    p.at(5_000);
    p.tick();
    p.write('kept', 'new');
    p.write('deleted', null);
    p.at(7_000);
    p.tick();
    expect(p.secondary.get('kept')).toBe('old');
    expect(p.secondary.get('deleted')).toBe('x');
    p.at(9_000);
    p.tick();
    expect(p.secondary.get('kept')).toBe('new');
    expect(p.secondary.has('deleted')).toBe(false);
  });

  it('stops at the moment replication was paused (less the delay) and catches up once resumed', () => {
    const p = pair(1_000);
    p.at(2_000);
    p.write('before', '1');
    p.at(4_500);
    p.conditions = { delayMs: 1_000, pausedAt: new Date(T0 + 4_500), halted: false };
    p.write('after', '2');
    p.at(60_000);
    p.tick();
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 3_000);
    expect(p.secondary.has('before')).toBe(true);
    expect(p.secondary.has('after')).toBe(false);
    p.conditions = running(1_000);
    p.tick();
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 59_000);
    expect(p.secondary.has('after')).toBe(true);
  });

  it('does not move while halted (a region or the secondary out), whatever the clock says', () => {
    const p = pair(1_000);
    p.at(2_000);
    p.tick();
    const synced = p.log.lastSyncTime().getTime();
    p.write('a', '1');
    p.conditions = { delayMs: 1_000, pausedAt: null, halted: true };
    p.at(600_000);
    p.tick();
    expect(p.log.lastSyncTime().getTime()).toBe(synced);
    expect(p.secondary.has('a')).toBe(false);
  });

  it('never goes back when the delay grows', () => {
    const p = pair(1_000);
    p.at(10_000);
    p.tick();
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 9_000);
    p.conditions = running(5_000);
    p.at(11_000);
    p.tick();
    expect(p.log.lastSyncTime().getTime()).toBe(T0 + 9_000);
  });

  it('applies a write at once only without delay, pause, halt or backlog', () => {
    const p = pair(0);
    expect(p.log.appliesAtOnce(running(0))).toBe(true);
    expect(p.log.appliesAtOnce(running(1))).toBe(false);
    expect(p.log.appliesAtOnce({ delayMs: 0, pausedAt: new Date(T0), halted: false })).toBe(false);
    expect(p.log.appliesAtOnce({ delayMs: 0, pausedAt: null, halted: true })).toBe(false);
    p.write('a', '1');
    expect(p.log.appliesAtOnce(running(0))).toBe(false);
  });

  it('holds, at every moment, exactly the writes recorded up to lastSyncTime', () => {
    const p = pair(1_500);
    const history: Array<{ at: number; blob: string; content: string | null }> = [];
    for (let ms = 0; ms < 20_000; ms += 137) {
      p.at(ms);
      const blob = `b${ms % 5}`;
      const content = ms % 3 === 0 ? null : String(ms);
      p.write(blob, content);
      history.push({ at: T0 + ms, blob, content });
      p.tick();
      const lastSync = p.log.lastSyncTime().getTime();
      const expected = new Map<string, string>();
      for (const h of history.filter((w) => w.at <= lastSync)) {
        if (h.content === null) expected.delete(h.blob);
        else expected.set(h.blob, h.content);
      }
      expect(p.secondary).toEqual(expected);
    }
  });

  it('refuses to replay out of order or to sync past a write not replayed', () => {
    const p = pair(0);
    p.write('a', '1');
    p.write('b', '2');
    const [, second] = p.log.backlog();
    expect(() => p.log.replayed(second as never)).toThrow(/in the order they were recorded/);
    expect(() => p.log.syncedTo(T0 + 10_000)).toThrow(/is not replayed/);
  });
});
