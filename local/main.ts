/**
 * `npm run local`: starts the local stack in the foreground and prints what to point kyvos-dr and
 * the Azure SDK at. Ctrl-C stops everything.
 */
import { startLocalStack } from './stack.js';

const stack = await startLocalStack();
const { names, descriptor } = stack;
const lines = [
  'kyvos-dr local stack is running.',
  '',
  `  Azure Resource Manager   ${descriptor.armEndpoint}   (subscription ${names.subscriptionId})`,
  `  Key Vault                ${descriptor.keyVaultUrl}   (vault ${names.keyVaultName})`,
  `  Blob (storage front)     ${descriptor.blobEndpointTemplate}`,
  `  Queue (Azurite)          ${descriptor.queueEndpointTemplate}`,
  `  Fault injection          ${descriptor.armEndpoint}/_emulator/faults`,
  `  PostgreSQL primary       ${names.primaryPostgresServer} (${names.regions.primary})  ${stack.postgres.primary.host}:${stack.postgres.primary.port}`,
  `  PostgreSQL replica       ${names.replicaPostgresServer} (${names.regions.dr})  ${stack.postgres.replica.host}:${stack.postgres.replica.port}`,
  `                           user ${stack.postgres.primary.user}, password ${stack.postgres.primary.password}, database ${stack.postgres.primary.database}`,
  '',
  'Credentials: any bearer token minted by LocalStackCredential (src/lib/clients); TLS: trust',
  `  ${descriptor.caCertPath}`,
  '',
  'App settings for kyvos-dr (local.settings.json "Values", or the environment):',
  ...Object.entries(stack.settings).map(([k, v]) => `  ${k}=${v}`),
  '',
  'Press Ctrl-C to stop.',
];
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('Stopping the local stack...\n');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
