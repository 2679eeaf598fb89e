import { describe, expect, it } from 'vitest';
import { runMain, STACK_TRACE, spawnCli } from './cliHarness.js';

describe('kyvos-dr usage', () => {
  it('prints the usage with the commands, the settings and the exit codes for --help, and exits 0', async () => {
    const result = await spawnCli('src/cli/main.ts', ['--help']);
    expect(result.code).toBe(0);
    for (const command of [
      'health',
      'doctor',
      'failover',
      'status',
      'resume',
      'retry',
      'config',
      'rehearse',
      'rehearsals',
      'drill',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(result.stdout).toContain('KYVOS_DR_KEY_VAULT_URL');
    expect(result.stdout).toContain('--local-stack');
    expect(result.stdout).toMatch(/Exit codes:[\s\S]*\n {2}3 {4}configuration error/);
    expect(result.stderr).toBe('');
  });

  it('runs from the package bin on a clone without a build', async () => {
    const result = await spawnCli('bin/kyvos-dr.js', ['config', 'check', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: kyvos-dr config check [options]');
  });

  it.each([
    [['health', '--help'], 'Usage: kyvos-dr health [options]', '--json'],
    [['doctor', '--help'], 'Usage: kyvos-dr doctor [options]', '--area <area...>'],
    [['failover', '--help'], 'Usage: kyvos-dr failover [options]', '--mode <mode>'],
    [['status', '--help'], 'Usage: kyvos-dr status [options] <runId>', '--json'],
    [['resume', '--help'], 'Usage: kyvos-dr resume [options] <runId>', '--timeout-minutes'],
    [['retry', '--help'], 'Usage: kyvos-dr retry [options] <runId>', '--reason <text>'],
    [['config', '--help'], 'Usage: kyvos-dr config [options] [command]', 'check'],
    [['config', 'check', '--help'], 'Usage: kyvos-dr config check [options]', 'never printed'],
    [['drill', '--help'], 'Usage: kyvos-dr drill [options]', '--scenario <scenario>'],
    [['rehearse', '--help'], 'Usage: kyvos-dr rehearse [options]', '--sample-blobs <n>'],
    [['rehearsals', '--help'], 'Usage: kyvos-dr rehearsals [options]', '--json'],
    [['help', 'failover'], 'Usage: kyvos-dr failover [options]', '--dry-run'],
  ])('%j prints its usage and exits 0', async (argv, usage, mentions) => {
    const result = await runMain(argv);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(usage);
    expect(result.stdout).toContain(mentions);
    expect(result.stdout).toMatch(/Exit codes:/);
  });

  it('answers an unknown command with exit 2 and a message naming it, without a stack trace', async () => {
    const result = await spawnCli('src/cli/main.ts', ['fail-over', '--mode', 'planned']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'fail-over'");
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stdout).toBe('');
  });

  it('answers a bad --mode with exit 2 naming the allowed values, without a stack trace', async () => {
    const result = await spawnCli('src/cli/main.ts', ['failover', '--mode', 'sideways', '--reason', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--mode <mode>' argument 'sideways' is invalid");
    expect(result.stderr).toContain('planned, forced');
    expect(result.stderr).not.toMatch(STACK_TRACE);
  });

  it.each([
    [['failover', '--reason', 'x'], "required option '--mode <mode>' not specified"],
    [['failover', '--mode', 'planned'], "required option '--reason <text>' not specified"],
    [['failover', '--mode', 'planned', '--reason', '   '], 'reason is required'],
    [['status'], "missing required argument 'runId'"],
    [['status', 'not-a-run'], 'expected a failover run id'],
    [['confirm'], "missing required argument 'runId'"],
    [['confirm', 'not-a-run'], 'expected a failover run id'],
    [['drill', '--scenario', 'meteor'], 'Allowed choices are planned, region-outage'],
    [['drill', '--files', 'many'], 'expected a whole number'],
    [['drill', '--strategy', 'move'], 'expected copy or account-failover'],
    [['rehearse', '--sample-bytes', 'lots'], 'expected a whole number'],
    [['health', '--jsn'], "unknown option '--jsn'"],
    [['doctor', '--area', 'dns'], 'Allowed choices are permissions, network, keyVault, postgres, storage'],
    [[], 'Usage: kyvos-dr'],
  ])('%j is a usage error (exit 2): %s', async (argv, message) => {
    const result = await runMain(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(STACK_TRACE);
  });

  it('says in one line which setting is missing when kyvos-dr has nowhere to keep its state (exit 3)', async () => {
    const result = await runMain(['status', 'fo-20261123T201500Z-3f9a1c']);
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('KYVOS_DR_APP_STORAGE_ACCOUNT');
    expect(result.stderr).toContain('--app-storage-account');
  });

  it('says which descriptor is unreadable when --local-stack names no stack (exit 3)', async () => {
    const result = await runMain([
      '--local-stack',
      '/nonexistent/stack.json',
      '--app-storage-account',
      'kyvosdrapp',
      'status',
      'fo-20261123T201500Z-3f9a1c',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('/nonexistent/stack.json');
    expect(result.stderr).toContain('npm run local');
  });
});
