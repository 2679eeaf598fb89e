/**
 * `npm run local`: starts the local stack in the foreground and prints what to point kyvos-dr and
 * the Azure SDK at. Ctrl-C stops everything.
 */
import { redactAzureSdkLog } from '../src/lib/azureSdkLog.js';
import { startLocalStack } from './stack.js';
import { LOCAL_OPERATOR_OBJECT_ID } from './stackAuthorization.js';

redactAzureSdkLog();
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
  `                           database ${stack.postgres.primary.database}; superuser ${stack.postgres.primary.user} (password ${stack.postgres.primary.password}),`,
  `                           server admin ${stack.postgres.logins.admin.user} (${stack.postgres.logins.admin.password}), kyvos-dr ${stack.postgres.logins.connectionUser.user} (${stack.postgres.logins.connectionUser.password})`,
  '',
  'Credentials: bearer tokens minted by LocalStackCredential (src/lib/clients); ARM and Key Vault allow',
  `  what infra/ grants its default object ID (the app); the operator ${LOCAL_OPERATOR_OBJECT_ID} is Owner. TLS: trust`,
  `  ${descriptor.caCertPath}`,
  '',
  'App settings for kyvos-dr (local.settings.json "Values", or the environment):',
  ...Object.entries(stack.settings).map(([k, v]) => `  ${k}=${v}`),
  `  AzureWebJobsStorage=${appStorageConnectionString()}`,
  `  NODE_EXTRA_CA_CERTS=${descriptor.caCertPath}`,
  '  (the Functions host itself must also trust that certificate to reach the queues: add it to the system trust store)',
  '',
  'Press Ctrl-C to stop.',
];
process.stdout.write(`${lines.join('\n')}\n`);

/** The app account as a connection string, for the Functions host's queue triggers (`func start`). */
function appStorageConnectionString(): string {
  const account = stack.accounts.find((a) => a.name === names.appStorageAccount);
  const queue = descriptor.queueEndpointTemplate.replace('{account}', names.appStorageAccount);
  const blob = descriptor.blobEndpointTemplate.replace('{account}', names.appStorageAccount);
  return `DefaultEndpointsProtocol=https;AccountName=${names.appStorageAccount};AccountKey=${account?.key ?? ''};BlobEndpoint=${blob};QueueEndpoint=${queue}`;
}

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
