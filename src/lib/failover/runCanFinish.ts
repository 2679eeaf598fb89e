import {
  type AccountFailoverVerdict,
  judgeAccountFailover,
  readAccountFailoverFacts,
} from '../accountFailover/accountFailoverReadiness.js';
import type { StorageStrategy } from '../config/DrConfig.js';
import { ACTIVE_SECRETS } from '../config/secretNames.js';
import { readSoftDeletedStates } from '../config/softDeletedSecrets.js';
import { readCopyNetworkAccess } from '../copy/copyNetworkAccess.js';
import { PreconditionFailed } from '../errors.js';
import type { Readiness } from '../health/readiness.js';
import { writeProofRefusal } from '../promote/writeProof.js';
import { describeError } from '../redact.js';
import type { SourceAccessProof } from '../source/SourceAccess.js';
import { describeSourceAccess } from '../source/sourceCredential.js';
import { copyDepsFor } from './copyContext.js';
import type { FailoverRequest } from './FailoverRun.js';
import type { StepContext } from './StepContext.js';

/**
 * The steps that cannot be undone, in the order they run: a failed-over storage account is the
 * primary in the DR region (failing it back is another failover, with its own data loss), a promoted replica never becomes a
 * replica again, a fenced primary has been stopped while the promoted server takes the writes, and
 * the record step's Key Vault writes tell Kyvos to use the DR side. None of them may start before
 * preflight has proved that the rest of the run (the copy above all) can finish.
 */
export const IRREVERSIBLE_STEPS = [
  'storage.accountFailover',
  'database.promote',
  'database.fence',
  'record',
] as const;

/** How the copy reads its source, as preflight proved it: the SAS's origin and what answered. */
interface SourceAccessCheck extends SourceAccessProof {
  /** `SAS from secret "<name>"` or `user-delegation SAS`: never the SAS itself. */
  access: string;
}

/** What preflight found about the rest of the run: a proof, or the reasons it could not finish. */
export type RunCanFinish =
  | {
      canFinish: true;
      /** The copy strategy: how the copy reads its source. */
      sourceAccess?: SourceAccessCheck;
      /** The account failover strategy: the verdict on the account and the failover type to ask for. */
      accountFailover?: AccountFailoverVerdict;
      warnings?: string[];
    }
  | { canFinish: false; reasons: string[]; warnings?: string[] };

/**
 * What the check of the record step's secret names found: reasons to refuse the run (a name is
 * soft-deleted) and warnings (a name could not be checked).
 */
export interface RecordedNamesCheck {
  reasons: string[];
  warnings: string[];
}

/**
 * Proves that the copy can read its source, with exactly the access the copy will use
 * (`copyDepsFor`: the stored source SAS, or with `kyvos-dr-source-auth` user-delegation a
 * user-delegation SAS; no stored SAS otherwise is a reason naming the fix),
 * through the `-secondary` endpoint (`SourceAccess.prove`), that no secret the record step
 * writes is soft-deleted (`checkRecordedNamesNotDeleted`), and that the promote's write proof has
 * its table and grants (`writeProofRefusal`). A failure is not thrown: it is returned
 * as a reason an operator can act on, so that preflight refuses the run with every reason at once.
 * Nothing is written.
 */
export async function proveRunCanFinish(
  ctx: Pick<
    StepContext,
    'clients' | 'config' | 'logger' | 'clock' | 'appStorageAccount' | 'settings' | 'abortSignal'
  >,
  strategy: { strategy: StorageStrategy; mode: FailoverRequest['mode'] } = {
    strategy: 'copy',
    mode: 'forced',
  },
): Promise<RunCanFinish> {
  if (strategy.strategy === 'accountFailover') return proveAccountFailoverCanFinish(ctx, strategy.mode);
  const access = describeSourceAccess(ctx.config);
  const [copy, names, writeProof, network] = await Promise.all([
    copyDepsFor(ctx)
      .then((deps) =>
        deps.source.prove({
          ...(deps.accessControl ? { accessControl: true } : {}),
          ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
        }),
      )
      .then(
        (proof) => ({ ok: true as const, proof }),
        (error: unknown) => ({
          ok: false as const,
          reason: `the copy cannot read its source (${access}): ${describeError(error)}`,
        }),
      ),
    checkRecordedNamesNotDeleted(ctx),
    writeProofRefusal(ctx.config.dr.replicaConnection, ctx.config.dr.replicaServer),
    checkCopyNetworkAccess(ctx),
  ]);
  const allWarnings = [...names.warnings, ...network.warnings];
  const warnings = allWarnings.length > 0 ? { warnings: allWarnings } : {};
  const reasons = [
    ...(copy.ok ? [] : [copy.reason]),
    ...names.reasons,
    ...(writeProof ? [writeProof] : []),
    ...network.reasons,
  ];
  if (!copy.ok || reasons.length > 0) return { canFinish: false, reasons, ...warnings };
  return { canFinish: true, sourceAccess: { access, ...copy.proof }, ...warnings };
}

/**
 * The account failover strategy's proof: the account can fail over (`judgeAccountFailover`: SKU,
 * `canFailover`, the identity's failover action), no secret the record step writes is soft-deleted,
 * and the promote's write proof has its table and grants. Nothing is written.
 */
async function proveAccountFailoverCanFinish(
  ctx: Pick<StepContext, 'clients' | 'config' | 'abortSignal'>,
  mode: FailoverRequest['mode'],
): Promise<RunCanFinish> {
  const abort = ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {};
  const [facts, names, writeProof] = await Promise.all([
    readAccountFailoverFacts(ctx.clients, ctx.config, abort),
    checkRecordedNamesNotDeleted(ctx),
    writeProofRefusal(ctx.config.dr.replicaConnection, ctx.config.dr.replicaServer),
  ]);
  const verdict = judgeAccountFailover(facts, mode, ctx.config.primary.storageAccount);
  const allWarnings = [...names.warnings, ...verdict.warnings];
  const warnings = allWarnings.length > 0 ? { warnings: allWarnings } : {};
  const reasons = [...verdict.reasons, ...names.reasons, ...(writeProof ? [writeProof] : [])];
  if (reasons.length > 0) return { canFinish: false, reasons, ...warnings };
  return { canFinish: true, accountFailover: verdict, ...warnings };
}

/**
 * Proves that the record step will be able to write its secrets: none of their names is
 * soft-deleted (`readSoftDeletedStates`). The record step runs after the promote, so a soft-deleted
 * name would fail it with the names half-written.
 *
 * An identity that may not read deleted secrets (infra's `vaultWriteScope: activeSecrets`, or an
 * access policy without secret get) cannot check a name, and that is a warning, not a refusal,
 * since the record step may well succeed. Any other failure to check is a warning too: whether Key
 * Vault can be read at all is decided by preflight's earlier read.
 */
export async function checkRecordedNamesNotDeleted(
  ctx: Pick<StepContext, 'clients' | 'config' | 'abortSignal'>,
): Promise<RecordedNamesCheck> {
  const vault = ctx.config.keyVault;
  if (!vault) return { reasons: [], warnings: [] };
  const found = await readSoftDeletedStates(
    ctx.clients.secrets(vault.url),
    RECORDED_SECRET_NAMES,
    ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {},
  );
  const check: RecordedNamesCheck = { reasons: [], warnings: [] };
  for (const result of found) {
    if (result.state === 'deleted') {
      check.reasons.push(
        `the secret "${result.name}" in Key Vault ${vault.name} is deleted but recoverable (soft-delete), so the record step could not write it after the promote; recover it first: az keyvault secret recover --vault-name ${vault.name} --name ${result.name}`,
      );
    } else if (result.state === 'forbidden') {
      check.warnings.push(
        `cannot check whether the secret "${result.name}" in Key Vault ${vault.name} is soft-deleted: the app's identity may not read deleted secrets (${describeError(result.error)}). If it is, the record step will fail after the promote; check with: az keyvault secret show-deleted --vault-name ${vault.name} --name ${result.name}`,
      );
    } else if (result.state === 'unreadable') {
      check.warnings.push(
        `cannot check whether the secret "${result.name}" in Key Vault ${vault.name} is soft-deleted (${describeError(result.error)})`,
      );
    }
  }
  return check;
}

/**
 * Proves that the source account's network rules let the DR account's storage service read the
 * source: a server-side copy is fetched by the destination's service, not by the app, so the app's
 * own proof (listing and reading through the secondary) says nothing about it. Rules that certainly
 * refuse it (`denied`: deny by default, no IP rule) refuse the run; rules that may (`uncertain`)
 * and rules ARM cannot show now (the Storage resource provider out with the primary region) are
 * warnings: the copy itself will tell, and a run is not refused for what cannot be known.
 */
async function checkCopyNetworkAccess(
  ctx: Pick<StepContext, 'clients' | 'config' | 'abortSignal'>,
): Promise<{ reasons: string[]; warnings: string[] }> {
  const access = await readCopyNetworkAccess(
    ctx.config,
    ctx.clients,
    ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {},
  );
  if ('unreadable' in access) {
    return {
      reasons: [],
      warnings: [
        `cannot read the network rules of the source account "${ctx.config.primary.storageAccount}" through ARM (${access.unreadable}); if they deny the DR account's storage service, every copy fails with 403 CannotVerifyCopySource`,
      ],
    };
  }
  if (access.verdict === 'denied' && access.problem) return { reasons: [access.problem], warnings: [] };
  if (access.verdict === 'uncertain' && access.problem) return { reasons: [], warnings: [access.problem] };
  return { reasons: [], warnings: [] };
}

/** Every secret name the record step may write (record.ts). */
export const RECORDED_SECRET_NAMES: readonly string[] = Object.values(ACTIVE_SECRETS);

/**
 * The error that refuses a run because Key Vault could not be read: the configuration's vault is
 * where the record step writes the names Kyvos must use, and where an earlier failover is recorded.
 * A vault that cannot even be read now will not take those writes after the promote.
 */
export function keyVaultUnreadable(vault: string, error: unknown): PreconditionFailed {
  const reason = `Key Vault ${vault} could not be read (${describeError(error)}); the run records the new names there and checks it for an earlier failover`;
  return new PreconditionFailed(
    `Failover refused before anything was changed: ${reason}. Fix access to the vault (network, the app identity's "Key Vault Secrets Officer" role) and start again.`,
    [reason],
  );
}

/**
 * The go/no-go decision of preflight, once the facts are in. Returns the refusal to throw, or
 * undefined to go on. A planned run needs an eligible replica; every run, forced and dry runs
 * included, needs a proof that its copy can read the source. Without it the promote and the fence
 * would leave neither side usable: a promoted replica, a stopped primary and no data.
 */
export function refusalOf(
  request: Pick<FailoverRequest, 'mode'>,
  readiness: Pick<Readiness, 'eligibleForPlannedPromote' | 'eligibilityReasons'> &
    Partial<Pick<Readiness, 'forcedPromoteBlockers'>>,
  runCanFinish: RunCanFinish,
): PreconditionFailed | undefined {
  const cannotFinish = runCanFinish.canFinish ? [] : runCanFinish.reasons;
  const blockers = readiness.forcedPromoteBlockers ?? [];
  if (request.mode === 'planned' && !readiness.eligibleForPlannedPromote) {
    const reasons = [...readiness.eligibilityReasons, ...cannotFinish];
    // "forced" would not help a run that cannot finish, nor one whose promote Azure would refuse
    // forced as well: say so only when it would.
    const advice =
      cannotFinish.length > 0 || blockers.length > 0
        ? 'Fix the causes and start again.'
        : 'Fix the cause, or use mode "forced" and accept the data loss.';
    return new PreconditionFailed(
      `Planned failover refused: ${clause(reasons) || 'the replica is not eligible for a planned promote'}. ${advice}`,
      reasons,
    );
  }
  if (request.mode === 'forced' && blockers.length > 0) {
    const reasons = [...blockers, ...cannotFinish];
    return new PreconditionFailed(
      `Forced failover refused before anything was changed: ${clause(reasons)}. Azure refuses a forced promote whose prerequisites do not hold unless the primary region is down, so the run would stop at the promote step after copying the storage. Fix the causes and start again.`,
      reasons,
    );
  }
  if (cannotFinish.length > 0) {
    return new PreconditionFailed(
      `Failover refused before anything was changed, because the run could not finish: ${clause(cannotFinish)}. Fix the cause and start again; a forced failover does not skip this check, since promoting the replica and stopping the primary without a copy leaves neither side usable.`,
      cannotFinish,
    );
  }
  return undefined;
}

/** Reasons joined into one clause of a sentence, without the full stop a reason may end with. */
function clause(reasons: string[]): string {
  return reasons.map((r) => r.replace(/\.+$/, '')).join('; ');
}
