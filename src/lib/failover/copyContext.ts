import { readSourceSas } from '../config/sourceSas.js';
import { hierarchicalNamespaceOf, resolveCopyAccessControl } from '../copy/accessControl.js';
import { BlobCheckpointStore } from '../copy/BlobCheckpointStore.js';
import { createUserDelegationSourceSas } from '../copy/sourceAccess.js';
import type { CopyDeps } from '../copy/types.js';
import { STATE_CONTAINER } from './RunStore.js';
import type { StepContext } from './StepContext.js';

type CopyContextInput = Pick<
  StepContext,
  'clients' | 'config' | 'logger' | 'clock' | 'appStorageAccount' | 'settings'
> & {
  abortSignal?: AbortSignal;
};

/**
 * The copy engine's dependencies for a run: the source through the RA-GRS secondary with the SAS
 * from Key Vault (or, when none is configured, a user-delegation SAS from the primary endpoint), the
 * DR account as destination, checkpoints in the app's storage, and whether access control is carried
 * (`kyvos-dr-copy-acls`; `auto` reads both accounts' `isHnsEnabled` from ARM).
 */
export async function copyDepsFor(ctx: CopyContextInput): Promise<CopyDeps> {
  const { config, clients } = ctx;
  const fromVault = await readSourceSas(
    config,
    { settings: ctx.settings, clients },
    { abortSignal: ctx.abortSignal },
  );
  const sas =
    fromVault ??
    (await createUserDelegationSourceSas(clients, {
      account: config.primary.storageAccount,
      container: config.primary.container,
      now: ctx.clock(),
      ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
    }));
  const setting = config.copyAccessControl ?? 'auto';
  const namespaceOf = (resourceGroup: string, account: string) =>
    hierarchicalNamespaceOf(ctx, config.subscriptionId, resourceGroup, account, ctx.abortSignal);
  const [sourceHns, destinationHns] =
    setting === 'auto'
      ? await Promise.all([
          namespaceOf(config.primary.resourceGroup, config.primary.storageAccount),
          namespaceOf(config.dr.resourceGroup, config.dr.storageAccount),
        ])
      : [undefined, undefined];
  const access = resolveCopyAccessControl(setting, sourceHns, destinationHns);
  ctx.logger.info(access.enabled ? 'copy.acls.on' : 'copy.acls.off', { reason: access.reason });
  return {
    accessControl: access.enabled,
    clients,
    source: {
      account: config.primary.storageAccount,
      container: config.primary.container,
      prefix: config.copyPrefix,
      sas,
    },
    destination: { account: config.dr.storageAccount, container: config.dr.container },
    checkpoints: new BlobCheckpointStore(
      clients.blobService(ctx.appStorageAccount).getContainerClient(STATE_CONTAINER),
    ),
    logger: ctx.logger,
    clock: ctx.clock,
  };
}
