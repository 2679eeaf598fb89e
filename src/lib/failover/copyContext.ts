import { learnStorageEndpoints } from '../clients/storageEndpoints.js';
import { hierarchicalNamespaceOf, resolveCopyAccessControl } from '../copy/accessControl.js';
import { BlobCheckpointStore } from '../copy/BlobCheckpointStore.js';
import type { CopyDeps } from '../copy/types.js';
import { SourceAccess } from '../source/SourceAccess.js';
import { STATE_CONTAINER } from './RunStore.js';
import type { StepContext } from './StepContext.js';

type CopyContextInput = Pick<
  StepContext,
  'clients' | 'config' | 'logger' | 'clock' | 'appStorageAccount' | 'settings'
> & {
  abortSignal?: AbortSignal;
};

/**
 * The copy engine's dependencies for a run: the source through the RA-GRS secondary with the
 * credential `kyvos-dr-source-auth` selects (`SourceAccess.open`: the stored SAS, or a proven
 * user-delegation SAS), opened once here and shared by everything the step reads the source for, the DR account as destination, checkpoints in the app's storage, and whether
 * access control is carried (`kyvos-dr-copy-acls`; `auto` reads both accounts' `isHnsEnabled` from ARM).
 */
export async function copyDepsFor(ctx: CopyContextInput): Promise<CopyDeps> {
  const { config, clients } = ctx;
  await useArmEndpoints(ctx);
  const source = await SourceAccess.open({
    config,
    clients,
    settings: ctx.settings,
    clock: ctx.clock,
    ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
  });
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
    source,
    destination: { account: config.dr.storageAccount, container: config.dr.container },
    checkpoints: new BlobCheckpointStore(
      clients.blobService(ctx.appStorageAccount).getContainerClient(STATE_CONTAINER),
    ),
    logger: ctx.logger,
    clock: ctx.clock,
  };
}

/**
 * Points the clients at the source's and the DR account's endpoints as ARM reports them
 * (`learnStorageEndpoints`). An account ARM cannot show (the DR account before the run creates it,
 * the source during an outage of the Storage resource provider) keeps its conventional endpoints;
 * the first failed lookup is logged.
 */
async function useArmEndpoints(ctx: CopyContextInput): Promise<void> {
  const { config, clients } = ctx;
  const accounts = [
    { resourceGroup: config.primary.resourceGroup, account: config.primary.storageAccount },
    { resourceGroup: config.dr.resourceGroup, account: config.dr.storageAccount },
  ];
  await Promise.all(
    accounts.map(async (target) => {
      const result = await learnStorageEndpoints(
        clients,
        { subscriptionId: config.subscriptionId, ...target },
        ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {},
      );
      if (result.fresh) {
        ctx.logger.warn('storage.endpoints_conventional', {
          account: target.account,
          endpoint: clients.blobEndpoint(target.account),
          reason: result.problem ?? 'ARM reported no blob endpoint',
        });
      }
    }),
  );
}
