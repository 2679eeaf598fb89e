import { ACTIVE_SECRETS } from '../../config/secretNames.js';
import { copyScopeOf, countBlobsOutsideScope } from '../../copy/copyScope.js';
import { verifyCopy } from '../../copy/verifyCopy.js';
import { proveWritable } from '../../promote/promoteReplica.js';
import { copyDepsFor } from '../copyContext.js';
import { activeStorageOf, strategyOf } from '../FailoverRun.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/**
 * Proves the DR side is ready. With the account failover strategy, the failed-over account takes a
 * write in its container and holds the blobs preflight listed (`verifyFailedOverAccount`). With the
 * copy: every source blob in the copy scope is at the destination with equal
 * size (and MD5 where the source has one) and, when the copy carries access control, the same owner,
 * group and ACL; the promoted server takes writes, and Key Vault holds the
 * new names. With a prefix as scope it also counts the source blobs outside it, for the report.
 * Fails, with every mismatch in the detail, when any of them does not hold.
 */
export async function verifyFailover(ctx: StepContext): Promise<StepOutcome> {
  const storage =
    strategyOf(ctx.run) === 'accountFailover'
      ? await verifyFailedOverAccount(ctx)
      : await verifyCopiedData(ctx);
  const problems = [...storage.problems];
  let database = 'not checked: no connection string for the replica';
  if (ctx.config.dr.replicaConnection) {
    await proveWritable(ctx.config.dr.replicaConnection, ctx.run.runId, 30_000);
    database = 'writable';
  }
  let keyVault = 'not checked: no Key Vault configured';
  if (ctx.config.keyVault) {
    const active = activeStorageOf(ctx.run, ctx.config);
    const secrets = ctx.clients.secrets(ctx.config.keyVault.url);
    const account = await secrets.getSecret(ACTIVE_SECRETS.storageAccount);
    const server = await secrets.getSecret(ACTIVE_SECRETS.postgresServer);
    if (account.value !== active.storageAccount || server.value !== ctx.config.dr.replicaServer) {
      problems.push('Key Vault does not hold the new active names');
    } else {
      keyVault = 'holds the active names';
    }
  }
  const detail = { ...storage.detail, database, keyVault };
  if (problems.length > 0) {
    const error = new Error(`Verification failed: ${problems.join('; ')}.`);
    Object.assign(error, { detail });
    throw error;
  }
  return { detail };
}

interface StorageVerification {
  problems: string[];
  detail: Record<string, unknown>;
}

/**
 * The account failover's storage proof: the account (same name) takes a write in its container
 * (a probe blob, written and deleted with the identity) and holds, with their sizes, the blobs
 * preflight listed before the failover.
 */
async function verifyFailedOverAccount(ctx: StepContext): Promise<StorageVerification> {
  const active = activeStorageOf(ctx.run, ctx.config);
  const abort = ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {};
  const container = ctx.clients.blobService(active.storageAccount).getContainerClient(active.container);
  const problems: string[] = [];
  if (!(await container.exists(abort))) {
    problems.push(
      `the container "${active.container}" does not exist in the failed-over account "${active.storageAccount}"`,
    );
    return { problems, detail: { storage: { account: active.storageAccount, containerExists: false } } };
  }
  const probe = container.getBlockBlobClient(`kyvos-dr-verify/${ctx.run.runId}`);
  await probe.upload('', 0, abort);
  await probe.delete(abort);
  const sample = ctx.run.steps.preflight.detail?.sample as Array<{ name: string; size: number }> | undefined;
  const missing: string[] = [];
  for (const blob of sample ?? []) {
    const found = await container
      .getBlobClient(blob.name)
      .getProperties(abort)
      .then(
        (p) => p.contentLength === blob.size,
        () => false,
      );
    if (!found) missing.push(blob.name);
  }
  if (missing.length > 0) {
    problems.push(
      `${missing.length} of the ${sample?.length ?? 0} blobs listed before the failover are missing or differ in the failed-over account`,
    );
  }
  return {
    problems,
    detail: {
      storage: {
        ok: missing.length === 0,
        account: active.storageAccount,
        container: active.container,
        writable: true,
        sampled: sample?.length ?? 0,
        missing: missing.slice(0, 20),
        ...(sample ? {} : { sample: 'none: preflight could not list one' }),
      },
    },
  };
}

/** The copy's storage proof (see `verifyFailover`). */
async function verifyCopiedData(ctx: StepContext): Promise<StorageVerification> {
  const deps = await copyDepsFor(ctx);
  const storage = await verifyCopy(
    {
      clients: deps.clients,
      source: deps.source,
      destination: deps.destination,
      logger: ctx.logger,
      ...(deps.accessControl ? { accessControl: true } : {}),
    },
    ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {},
  );
  // A prefix leaves the rest of the container behind on purpose; the report's checklist warns with
  // this count. It does not fail the verification: the prefix is the operator's choice.
  const scope = copyScopeOf(deps.source.prefix);
  const outside = await countBlobsOutsideScope(
    deps.source.listable(),
    scope,
    ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {},
  );
  const problems: string[] = [];
  if (!storage.ok) {
    problems.push(
      `the DR copy differs from the source: ${storage.missingCount ?? storage.missing.length} missing, ${storage.mismatchedCount ?? storage.mismatched.length} mismatched`,
    );
  }
  return { problems, detail: { storage, scope: { ...scope, blobsOutside: outside } } };
}
