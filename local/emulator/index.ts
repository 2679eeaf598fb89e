/**
 * The control-plane emulator of the local stack: Azure Resource Manager (Storage accounts,
 * PostgreSQL flexible servers) and Key Vault secrets over HTTPS on 127.0.0.1.
 */
export { startControlPlaneEmulator } from './server.js';
export type {
  ControlPlaneEmulator,
  ControlPlaneEmulatorOptions,
  EmulatorRequestEvent,
} from './types.js';
