/**
 * The control-plane emulator of the local stack: Azure Resource Manager (Storage accounts,
 * PostgreSQL flexible servers) and Key Vault secrets over HTTPS on 127.0.0.1.
 */
export type { ArmError } from './armErrors.js';
export type { FaultsChange, FaultsView } from './faultsAdmin.js';
export { KEY_VAULT_AUDIENCE } from './keyVault.js';
export type { SecretStore, SecretVersion, SetSecretOptions } from './secretStore.js';
export { ARM_AUDIENCE, startControlPlaneEmulator } from './server.js';
export type {
  BlobContainerStore,
  ControlPlaneEmulator,
  ControlPlaneEmulatorOptions,
  EmulatorRequestEvent,
} from './types.js';
