import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  connectionUserSetupSql,
  type WriteProofGrants,
  writeProofProblem,
} from '../../../src/lib/promote/writeProof.js';

const ready: WriteProofGrants = {
  user: 'kyvos_dr',
  database: 'kyvos',
  schemaExists: true,
  schemaUsage: true,
  tableExists: true,
  tablePrivileges: ['SELECT', 'INSERT', 'UPDATE'],
};

describe('what the write proof needs from the connection user', () => {
  it('a table the user may select, insert and update in a schema it may use is ready', () => {
    expect(writeProofProblem(ready)).toBeUndefined();
  });

  it('a missing schema names the whole setup, to run as the server admin on the primary', () => {
    expect(
      writeProofProblem({
        ...ready,
        schemaExists: false,
        schemaUsage: null,
        tableExists: false,
        tablePrivileges: [],
      }),
    ).toBe(
      'the write proof\'s schema "kyvos_dr" does not exist in database "kyvos"; as the server admin, connected to "kyvos" on the primary, run: CREATE SCHEMA kyvos_dr; CREATE TABLE kyvos_dr.failover_probe (run_id text PRIMARY KEY, written_at timestamptz NOT NULL); GRANT USAGE ON SCHEMA kyvos_dr TO "kyvos_dr"; GRANT SELECT, INSERT, UPDATE ON kyvos_dr.failover_probe TO "kyvos_dr"',
    );
  });

  it('a missing table names the table and its grants', () => {
    expect(writeProofProblem({ ...ready, tableExists: false, tablePrivileges: [] })).toMatch(
      /^the write proof's table kyvos_dr\.failover_probe does not exist in database "kyvos"; .*run: CREATE TABLE kyvos_dr\.failover_probe .*; GRANT SELECT, INSERT, UPDATE ON kyvos_dr\.failover_probe TO "kyvos_dr"$/,
    );
  });

  it('a missing privilege is named with the GRANT of only what is missing', () => {
    expect(writeProofProblem({ ...ready, tablePrivileges: ['SELECT', 'INSERT'] })).toBe(
      'the connection user "kyvos_dr" lacks UPDATE on kyvos_dr.failover_probe, which the write proof needs in database "kyvos"; as the server admin, connected to "kyvos" on the primary, run: GRANT UPDATE ON kyvos_dr.failover_probe TO "kyvos_dr"',
    );
    expect(writeProofProblem({ ...ready, schemaUsage: false })).toBe(
      'the connection user "kyvos_dr" lacks USAGE on schema kyvos_dr, which the write proof needs in database "kyvos"; as the server admin, connected to "kyvos" on the primary, run: GRANT USAGE ON SCHEMA kyvos_dr TO "kyvos_dr"',
    );
  });

  it('docs/configuration.md gives operators exactly the statements the local stack runs as the server admin', async () => {
    const doc = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const statements = connectionUserSetupSql({
      user: 'kyvos_dr',
      database: 'kyvos',
      password: '<password>',
    });
    expect(doc).toContain(['```sql', ...statements.map((s) => `${s};`), '```'].join('\n'));
  });
});
