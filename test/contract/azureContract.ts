import { type SchemaRef, SwaggerContract } from './swaggerContract.js';

/** The vendored spec files, by service, as `findOperation` prefixes. */
export const SPEC_FILES = {
  storage: 'storage/resource-manager/Microsoft.Storage/stable/2025-08-01/',
  postgresql: 'postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/',
  keyVault: 'keyvault/data-plane/Secrets/stable/2025-07-01/',
  /** The Key Vault resource provider (Vaults_Get), of the API version `keyVaultHealth.ts` sends. */
  keyVaultResource: 'keyvault/resource-manager/Microsoft.KeyVault/stable/2023-07-01/',
  /** ARM's permissions API, of the API version the doctor's permissions check sends. */
  authorization: 'authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/',
  /** The Blob data plane of the `x-ms-version` @azure/storage-blob 12.34 sends. */
  blob: 'storage/data-plane/Microsoft.BlobStorage/stable/2026-10-06/',
} as const;

/** Get Blob Service Stats (`GET /?restype=service&comp=stats`, XML): its `200` body. */
export const BLOB_SERVICE_STATS: SchemaRef = {
  file: `${SPEC_FILES.blob}blob.json`,
  definition: 'StorageServiceStats',
};

/** ARM's shape that no service spec carries: the async-operation status. */
export const ARM_OPERATION_STATUS: SchemaRef = {
  file: 'common-types/resource-management/v6/types.json',
  definition: 'OperationStatusResult',
};

/**
 * The contract of the API versions kyvos-dr calls. Storage 2025-08-01 declares no error response on
 * the account operations; its SDK reads errors as the Storage `CloudError` of the same version.
 */
export function loadAzureContract(): SwaggerContract {
  return SwaggerContract.load({
    fallbackErrors: [
      {
        filePrefix: SPEC_FILES.storage,
        schema: { file: `${SPEC_FILES.storage}common.json`, definition: 'CloudError' },
      },
    ],
  });
}
