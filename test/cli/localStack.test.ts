import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKyvosDataset } from '../../local/seed.js';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { CONFIG_SECRETS } from '../../src/lib/config/secretNames.js';
import { DOCTOR_CHECKS } from '../../src/lib/doctor/checks.js';
import type { DoctorReport } from '../../src/lib/doctor/runDoctor.js';
import { STEP_NAMES } from '../../src/lib/failover/FailoverRun.js';
import { runMain, STACK_TRACE, spawnCli, stackEnv, stackFlags } from './cliHarness.js';

describe('kyvos-dr against the local stack', () => {
  let stack: LocalStack;
  let flags: string[];
  /** Values that must never appear in what the CLI prints. */
  let secrets: string[];
  let dryRunId: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    flags = stackFlags(stack);
    await seedKyvosDataset(
      stack.clients.blobService(stack.names.primaryStorageAccount),
      stack.names.container,
      {
        prefix: stack.names.engineWorkDirectory,
        files: 120,
      },
    );
    const sas = (
      await stack.clients.secrets(stack.descriptor.keyVaultUrl).getSecret(stack.names.sourceSasSecret)
    ).value as string;
    secrets = [stack.postgres.primary.password, new URLSearchParams(sas).get('sig') as string];
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const expectNoSecrets = (...outputs: string[]) => {
    for (const output of outputs) for (const secret of secrets) expect(output).not.toContain(secret);
  };

  it('rehearse shows its phases on stderr and its report on stdout, exits 0 when it passed, and rehearsals lists it', async () => {
    const result = await runMain([...flags, 'rehearse', '--sample-blobs', '20'], { env: stackEnv(stack) });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^Rehearsal (rh-\d{8}T\d{6}Z-[0-9a-f]{6}) started\.$/m);
    expect(result.stderr).toMatch(
      /^\[[\d.]+ s\] preflight\n\[[\d.]+ s\] listing\n\[[\d.]+ s\] copy\n\[[\d.]+ s\] report$/m,
    );
    const id = /Rehearsal (rh-\S+) started/.exec(result.stderr)?.[1] as string;
    expect(result.stdout).toContain(`Rehearsal ${id}: Passed`);
    expect(result.stdout).toMatch(/^ {2}source +1\d\d blobs/m);
    expect(result.stdout).toMatch(
      /^ {2}RTO +at least [\d.]+ s \(5 of its parts unknown, below\)\n {4}preflight +[\d.]+ s +measured/m,
    );
    expectNoSecrets(result.stdout, result.stderr);

    const history = await runMain([...flags, 'rehearsals', '--json'], { env: stackEnv(stack) });
    expect(history.code).toBe(0);
    const rows = (JSON.parse(history.stdout) as { rehearsals: Array<{ rehearsalId: string; state: string }> })
      .rehearsals;
    expect(rows[0]).toMatchObject({ rehearsalId: id, state: 'Passed' });
    const same = await runMain([...flags, 'rehearse', '--history'], { env: stackEnv(stack) });
    expect(same.stdout).toContain(id);
    expect((await runMain([...flags, 'rehearse', '--sample-blobs', '0'])).code).toBe(2);
  });

  it('config check lists every secret as ok, and never a value', async () => {
    const result = await runMain([...flags, 'config', 'check', '--json']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as {
      ok: boolean;
      source: string;
      settings: Array<{ appSetting: string; status: string }>;
      secrets: Array<{ secretName: string; status: string; reason: string }>;
    };
    expect(body.ok).toBe(true);
    expect(body.source).toMatch(/^Key Vault /);
    expect(body.source).toContain(stack.descriptor.keyVaultUrl);
    expect(body.settings.map((s) => [s.appSetting, s.status])).toEqual([
      ['KYVOS_DR_LOCAL_STACK', 'ok'],
      ['KYVOS_DR_APP_STORAGE_ACCOUNT', 'ok'],
      ['KYVOS_DR_KEY_VAULT_URL', 'ok'],
    ]);
    const names = body.secrets.map((s) => s.secretName);
    expect(names).toEqual(expect.arrayContaining(Object.values(CONFIG_SECRETS)));
    expect(names).toContain(stack.names.sourceSasSecret);
    expect(body.secrets.every((s) => s.status === 'ok')).toBe(true);
    expect(body.secrets.find((s) => s.secretName === stack.names.sourceSasSecret)?.reason).toMatch(/expires/);

    const human = await runMain([...flags, 'config', 'check']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ {2}ok {9}kyvos-dr-replica-connection-string/m);
    expect(human.stdout).toContain('The configuration is usable');
    expectNoSecrets(result.stdout, human.stdout, human.stderr);
  });

  it('config check names a missing secret and exits 3', async () => {
    await stack.setSecret(CONFIG_SECRETS.drStorageAccount, '');
    try {
      const result = await runMain([...flags, 'config', 'check', '--json']);
      expect(result.code).toBe(3);
      const body = JSON.parse(result.stdout) as {
        ok: boolean;
        secrets: Array<{ secretName: string; status: string; reason: string }>;
      };
      expect(body.ok).toBe(false);
      const problems = body.secrets.filter((s) => s.status !== 'ok');
      expect(problems.map((s) => [s.secretName, s.status])).toEqual([
        ['kyvos-dr-dr-storage-account', 'missing'],
      ]);
      expect(problems[0]?.reason).toContain('az keyvault secret set');
      expect(problems[0]?.reason).toContain('--name kyvos-dr-dr-storage-account');

      const human = await runMain([...flags, 'config', 'check']);
      expect(human.code).toBe(3);
      expect(human.stdout).toMatch(/^ {2}missing {4}kyvos-dr-dr-storage-account/m);
      expect(human.stdout).toContain('NOT usable');

      // The health checks report it, and exit with the same code.
      const health = await runMain([...flags, 'health']);
      expect(health.code).toBe(3);
      expect(health.stdout).toMatch(/^Storage geo-replication: Unhealthy/m);
      expect(health.stdout).toContain('kyvos-dr-dr-storage-account');

      // Any other command says the same in one line, with the same exit code.
      const failover = await runMain([
        ...flags,
        'failover',
        '--mode',
        'planned',
        '--reason',
        'x',
        '--dry-run',
      ]);
      expect(failover.code).toBe(3);
      expect(failover.stderr).toContain('kyvos-dr-dr-storage-account');
      expect(failover.stderr).not.toMatch(STACK_TRACE);
    } finally {
      await stack.setSecret(CONFIG_SECRETS.drStorageAccount, stack.names.drStorageAccount);
    }
  });

  it('health runs both checks now and returns the measured readiness', async () => {
    const before = Date.now();
    const result = await runMain([...flags, 'health', '--json'], { env: stackEnv(stack) });
    expect(result.code).toBe(0);
    const readiness = JSON.parse(result.stdout) as {
      status: string;
      rpoSeconds: number;
      storageRpoSeconds: number;
      databaseRpoSeconds: number;
      eligibleForPlannedPromote: boolean;
      storage: { report: { checkedAt: string; facts: Record<string, unknown> } };
      replica: { report: { checkedAt: string; facts: Record<string, unknown> } };
    };
    expect(readiness.status).toBe('Healthy');
    expect(readiness.eligibleForPlannedPromote).toBe(true);
    expect(typeof readiness.storageRpoSeconds).toBe('number');
    expect(typeof readiness.databaseRpoSeconds).toBe('number');
    expect(readiness.rpoSeconds).toBe(Math.max(readiness.storageRpoSeconds, readiness.databaseRpoSeconds));
    // Checked now, not read from an older report.
    expect(Date.parse(readiness.storage.report.checkedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(readiness.replica.report.checkedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(readiness.storage.report.facts.sku).toBe('Standard_RAGRS');
    expect(readiness.replica.report.facts.role).toBe('AsyncReplica');
    expect(readiness.replica.report.facts.replicationState).toBe('Active');

    const human = await runMain([...flags, 'health'], { env: stackEnv(stack) });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Storage geo-replication: Healthy, RPO [\d.]+ s/m);
    expect(human.stdout).toMatch(/^PostgreSQL read replica: Healthy, RPO [\d.]+ s/m);
    expect(human.stdout).toMatch(/^Readiness: Healthy, RPO [\d.]+ s/m);
    expect(human.stdout).toContain('planned failover: eligible');
    expect(human.stdout).toContain(
      'source access: SAS from secret "kyvos-dr-source-sas" (stored-sas), proven on the secondary',
    );
    expect(human.stdout).toMatch(/^ {2}configuration: Key Vault \S+$/m);
    expect(human.stdout).toMatch(
      /^ {2}prerequisites: all \d+ hold \(checked with storage \S+, replica \S+\)$/m,
    );
    expectNoSecrets(result.stdout, human.stdout, human.stderr);
  });

  it('doctor checks the prerequisites of a failover and exits 0: every registered check passes on a correctly configured stack', async () => {
    const result = await runMain([...flags, 'doctor', '--json'], { env: stackEnv(stack) });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.findings.filter((f) => f.outcome !== 'pass')).toEqual([]);
    expect(result.code).toBe(0);
    expect(report.outcome).toBe('pass');
    expect(report.counts).toEqual({ pass: report.findings.length, fail: 0, warn: 0, unknown: 0 });
    // Every registered check answered, each with at least one finding of its area.
    expect(new Set(report.findings.map((f) => f.area))).toEqual(new Set(DOCTOR_CHECKS.map((c) => c.area)));

    const human = await runMain([...flags, 'doctor'], { env: stackEnv(stack) });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Failover prerequisites \(checked \S+\)$/m);
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe(
      DOCTOR_CHECKS.length > 0
        ? `Every prerequisite holds (${report.findings.length} checked: 0 fail, 0 warn, 0 unknown, ${report.findings.length} pass).`
        : 'No check ran: no check is registered for the areas asked.',
    );

    const permissions = await runMain([...flags, 'doctor', '--area', 'permissions', '--json'], {
      env: stackEnv(stack),
    });
    expect(permissions.code).toBe(0);
    const permissionFindings = (JSON.parse(permissions.stdout) as DoctorReport).findings;
    expect(permissionFindings.every((f) => f.area === 'permissions')).toBe(true);
    expectNoSecrets(result.stdout, human.stdout, human.stderr, permissions.stdout);
  });

  it('failover --dry-run returns the plan and changes nothing', async () => {
    const result = await runMain(
      [
        ...flags,
        'failover',
        '--mode',
        'planned',
        '--reason',
        'rehearsal',
        '--dry-run',
        '--requested-by',
        'ops@example',
        '--json',
      ],
      { env: stackEnv(stack) },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const run = JSON.parse(result.stdout) as {
      runId: string;
      state: string;
      dryRun: boolean;
      requestedBy: string;
      steps: Array<{ name: string; status: string }>;
      report: { verdict: string; plan: { blobs: number; bytes: number; serverToPromote: string } };
    };
    dryRunId = run.runId;
    expect(run.state).toBe('Succeeded');
    expect(run.dryRun).toBe(true);
    expect(run.requestedBy).toBe('ops@example');
    expect(run.report.verdict).toMatch(/^proceed/);
    expect(run.report.plan.blobs).toBeGreaterThan(120);
    expect(run.report.plan.bytes).toBeGreaterThan(0);
    expect(run.report.plan.serverToPromote).toBe(stack.names.replicaPostgresServer);
    expect(run.steps.find((s) => s.name === 'storage.copy')?.status).toBe('Skipped');
    expect(run.steps.find((s) => s.name === 'database.promote')?.status).toBe('Skipped');

    // Nothing changed: the DR account does not exist in ARM, the replica is still a replica.
    await expect(
      stack.clients
        .storageManagement(stack.names.subscriptionId)
        .storageAccounts.getProperties(stack.names.drResourceGroup, stack.names.drStorageAccount),
    ).rejects.toMatchObject({ statusCode: 404 });
    const replica = await stack.clients
      .postgresManagement(stack.names.subscriptionId)
      .servers.get(stack.names.drResourceGroup, stack.names.replicaPostgresServer);
    expect(replica.replica?.role).toBe('AsyncReplica');
    expect((await stack.postgres.replica.status()).inRecovery).toBe(true);
  });

  it('status shows a run as GET /api/failover/{runId} does, and a human view', async () => {
    const json = await runMain([...flags, 'status', dryRunId, '--json']);
    expect(json.code).toBe(0);
    const run = JSON.parse(json.stdout) as {
      runId: string;
      state: string;
      steps: unknown[];
      report: unknown;
    };
    expect(run.runId).toBe(dryRunId);
    expect(run.state).toBe('Succeeded');
    expect(run.steps).toHaveLength(STEP_NAMES.length);
    expect(run.report).not.toBeNull();

    const human = await runMain([...flags, 'status', dryRunId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Dry run ${dryRunId} (planned): Succeeded; nothing was changed.`);
    expect(human.stdout).toMatch(/would promote +pg-kyvos-dr/);

    const unknown = await runMain([...flags, 'status', 'fo-20200101T000000Z-000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No failover run fo-20200101T000000Z-000000');

    // confirm is for a planned run paused at its quiesce; a dry run that ended has none.
    const notWaiting = await runMain([...flags, 'confirm', dryRunId]);
    expect(notWaiting.code).toBe(1);
    expect(notWaiting.stderr).toContain(
      `Failover run ${dryRunId} is not waiting for a confirmation: it is Succeeded.`,
    );
    const unknownConfirm = await runMain([...flags, 'confirm', 'fo-20200101T000000Z-000000']);
    expect(unknownConfirm.code).toBe(1);
    expect(unknownConfirm.stderr).toContain('No failover run fo-20200101T000000Z-000000');
  });

  it('refuses a second run while one holds the lock (exit 5), and resume works the first to its end', async () => {
    const accepted = await runMain([
      ...flags,
      'failover',
      '--mode',
      'forced',
      '--reason',
      'left to the Function app',
      '--dry-run',
      '--no-wait',
      '--json',
    ]);
    expect(accepted.code).toBe(0);
    const first = JSON.parse(accepted.stdout) as { runId: string; state: string };
    expect(first.state).toBe('Running');

    // From another process, as a second operator would.
    const second = await spawnCli('src/cli/main.ts', [
      ...flags,
      'failover',
      '--mode',
      'planned',
      '--reason',
      'second operator',
    ]);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`A failover is already running: run ${first.runId}`);
    expect(second.stderr).not.toMatch(STACK_TRACE);

    const running = await runMain([...flags, 'status', first.runId]);
    expect(running.code).toBe(0);
    expect(running.stdout).toContain(`Failover run ${first.runId}: Running (dry run)`);

    const resumed = await runMain([...flags, 'resume', first.runId]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`Working failover run ${first.runId} in this process.`);
    expect(resumed.stdout).toMatch(/step preflight succeeded/);
    expect(resumed.stdout).toContain(`Dry run ${first.runId} (forced): Succeeded`);
    expect(resumed.stdout).toMatch(/verdict +proceed \(forced\)/);
  });

  it('retry runs a failed run again from its failed steps, once the cause is gone', async () => {
    // Creating the DR account fails; the promotion, which waits for it, never starts.
    stack.failNextLongRunningOperations(1, 'InternalServerError', 'Injected outage of the control plane');
    const failed = await runMain([...flags, 'failover', '--mode', 'forced', '--reason', 'region down']);
    expect(failed.code).toBe(1);
    const runId = /Failover run (fo-\S+) accepted/.exec(failed.stdout)?.[1] as string;
    expect(runId).toBeDefined();
    expect(failed.stdout).toContain(`Failover run ${runId}: Failed`);
    expect(failed.stdout).toContain('nothing irreversible was done');
    expect(failed.stdout).toContain(`kyvos-dr retry ${runId} --reason "<what was fixed>"`);

    const noReason = await runMain([...flags, 'retry', runId]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");

    const retried = await runMain([...flags, 'retry', runId, '--reason', 'ARM answers again']);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(`Failover run ${runId} retried (retry 1), requested by cli:`);
    expect(retried.stdout).toContain('failed before: storage.ensureAccount.');
    expect(retried.stdout).toContain(`Failover run ${runId}: Succeeded`);
    // The retry's row in the summary (folded to the terminal width).
    expect(retried.stdout.replace(/\s+/g, ' ')).toMatch(
      /retried \S+ by cli:\S+: "ARM answers again"; had failed: storage\.ensureAccount(?!,)/,
    );
    expect(retried.stdout).toMatch(/verification +ok/);
    expectNoSecrets(failed.stdout, failed.stderr, retried.stdout, retried.stderr);

    const again = await runMain([...flags, 'retry', runId, '--reason', 'again']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      `kyvos-dr: Failover run ${runId} is Succeeded: it succeeded; there is nothing to retry.`,
    );
  });
});
