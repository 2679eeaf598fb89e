import { ACTIVE_SECRETS } from '../../config/secretNames.js';
import { copyScopeOf, countBlobsOutsideScope } from '../../copy/copyScope.js';
import { verifyCopy } from '../../copy/verifyCopy.js';
import { proveWritable } from '../../promote/promoteReplica.js';
import { copyDepsFor } from '../copyContext.js';
import type { StepContext, StepOutcome } from '../StepContext.js';

/**
 * Proves the DR side is ready: every source blob in the copy scope is at the destination with equal
 * size (and MD5 where the source has one) and, when the copy carries access control, the same owner,
 * group and ACL; the promoted server takes writes, and Key Vault holds the
 * new names. With a prefix as scope it also counts the source blobs outside it, for the report.
 * Fails, with every mismatch in the detail, when any of them does not hold.
 */
export async function verifyFailover(ctx: StepContext): Promise<StepOutcome> {
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
  let database = 'not checked: no connection string for the replica';
  if (ctx.config.dr.replicaConnection) {
    await proveWritable(ctx.config.dr.replicaConnection, ctx.run.runId, 30_000);
    database = 'writable';
  }
  let keyVault = 'not checked: no Key Vault configured';
  if (ctx.config.keyVault) {
    const secrets = ctx.clients.secrets(ctx.config.keyVault.url);
    const active = await secrets.getSecret(ACTIVE_SECRETS.storageAccount);
    const server = await secrets.getSecret(ACTIVE_SECRETS.postgresServer);
    if (active.value !== ctx.config.dr.storageAccount || server.value !== ctx.config.dr.replicaServer) {
      problems.push('Key Vault does not hold the new active names');
    } else {
      keyVault = 'holds the active names';
    }
  }
  const detail = { storage, scope: { ...scope, blobsOutside: outside }, database, keyVault };
  if (problems.length > 0) {
    const error = new Error(`Verification failed: ${problems.join('; ')}.`);
    Object.assign(error, { detail });
    throw error;
  }
  return { detail };
}
