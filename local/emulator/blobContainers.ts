import type { LocalStorageAccount } from '../types.js';
import { ArmError, parentResourceNotFound } from './armErrors.js';
import type { ArmRequest, ArmRoute } from './router.js';
import { requireStorageAccount, STORAGE_ACCOUNT_PATH } from './storageAccounts.js';
import type { EmulatorContext } from './types.js';

const CONTAINER_TYPE = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const CONTAINER_PATH = `${STORAGE_ACCOUNT_PATH}/blobServices/default/containers/{containerName}`;

/**
 * Blob containers through the control plane (BlobContainers_Create/Get). The containers themselves
 * live in Azurite; the stack's `containers` store creates and checks them. `PUT` answers `201` when
 * it created the container and `200` when it already existed.
 */
export function blobContainerRoutes(ctx: EmulatorContext): ArmRoute[] {
  return [
    {
      method: 'PUT',
      pattern: CONTAINER_PATH,
      action: 'Microsoft.Storage/storageAccounts/blobServices/containers/write',
      handler: async (request) => {
        const { account, container } = target(ctx, request);
        if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
          throw new ArmError(
            400,
            'ContainerNameInvalid',
            `'${container}' is not a valid container name: use 3 to 63 lower-case letters, digits and single dashes, ` +
              'starting and ending with a letter or digit.',
          );
        }
        const outcome = await ctx.options.containers.create(account.name, container);
        return { status: outcome === 'created' ? 201 : 200, body: containerBody(ctx, account, container) };
      },
    },
    {
      method: 'GET',
      pattern: CONTAINER_PATH,
      action: 'Microsoft.Storage/storageAccounts/blobServices/containers/read',
      handler: async (request) => {
        const { account, container } = target(ctx, request);
        if (!(await ctx.options.containers.exists(account.name, container))) {
          throw new ArmError(404, 'ContainerNotFound', 'The specified container does not exist.');
        }
        return {
          status: 200,
          body: {
            ...containerBody(ctx, account, container),
            properties: {
              publicAccess: 'None',
              deleted: false,
              hasImmutabilityPolicy: false,
              hasLegalHold: false,
            },
          },
        };
      },
    },
  ];
}

function target(
  ctx: EmulatorContext,
  request: ArmRequest,
): { account: LocalStorageAccount; container: string } {
  let account: LocalStorageAccount;
  try {
    account = requireStorageAccount(ctx, request.params);
  } catch {
    throw parentResourceNotFound('Microsoft.Storage/storageAccounts', request.params.accountName ?? '');
  }
  ctx.assertRegionUp(account.region, 'Microsoft.Storage');
  return { account, container: request.params.containerName ?? '' };
}

function containerBody(ctx: EmulatorContext, account: LocalStorageAccount, container: string) {
  return {
    id:
      `/subscriptions/${ctx.options.subscriptionId}/resourceGroups/${account.resourceGroup}/providers/` +
      `Microsoft.Storage/storageAccounts/${account.name}/blobServices/default/containers/${container}`,
    name: container,
    type: CONTAINER_TYPE,
  };
}
