import { quoteIdentifier } from '../promote/writeProof.js';

/**
 * What a connection user sees of a standby's WAL receiver. `pg_stat_wal_receiver` has one row while
 * a receiver process runs. Only superusers and roles with the privileges of `pg_read_all_stats` see
 * its columns; any other user sees the pid and NULL everywhere else (`pg_stat_get_wal_receiver`,
 * postgres/postgres src/backend/replication/walreceiver.c: "Other users only get the pid value to
 * know whether it is a WAL receiver, but no details"). On Azure the connection user is never a
 * superuser (https://learn.microsoft.com/azure/postgresql/security/security-manage-database-users),
 * so a NULL status with a pid means a hidden status, not a stopped receiver.
 */
export type WalReceiverView = { kind: 'none' } | { kind: 'hidden' } | { kind: 'visible'; status: string };

/** Both columns, as a SQL select-list fragment: `wal_receiver_pid`, `wal_receiver_status`. */
export const WAL_RECEIVER_COLUMNS = `(SELECT pid FROM pg_stat_wal_receiver LIMIT 1) AS wal_receiver_pid,
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS wal_receiver_status`;

export function walReceiverView(
  pid: number | null | undefined,
  status: string | null | undefined,
): WalReceiverView {
  if (status) return { kind: 'visible', status };
  return pid === null || pid === undefined ? { kind: 'none' } : { kind: 'hidden' };
}

/** The grant that makes the status visible, as a sentence an operator can act on. */
export function walReceiverHiddenReason(user: string): string {
  return `the WAL receiver's status is hidden from the connection user "${user}", which lacks pg_read_all_stats; as the server admin on the primary, run: GRANT pg_read_all_stats TO ${quoteIdentifier(user)}`;
}
