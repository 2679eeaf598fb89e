import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TemplateScope } from '../../local/emulator/authorization/templateExpressions.js';
import { deployedWorkerHeap } from '../../local/workerHeap.js';
import { ACTIVE_SECRETS, APP_SETTINGS } from '../../src/lib/config/secretNames.js';
import { BUILT_IN_ROLES, PRIVILEGED_ROLES } from './builtInRoles.js';
import {
  checkAlertWebhook,
  checkCustomRoleDefinitions,
  checkDrStorageAccount,
  checkNoSecretDefaults,
  checkNoSecretLiterals,
  checkParameterFile,
  checkReferences,
  checkResources,
  checkRoleAssignments,
  checkRoleClaims,
  checkSharedParameterValues,
  checkStructure,
  checkUnusedParameters,
  collectCustomRoles,
  isObject,
  isTemplate,
  type Json,
  type JsonObject,
  listResources,
} from './templateChecks.js';

const infraDir = fileURLToPath(new URL('../../infra/', import.meta.url));
const jsonFiles = readdirSync(infraDir)
  .filter((file) => file.endsWith('.json'))
  .sort();
const texts = Object.fromEntries(jsonFiles.map((file) => [file, readFileSync(join(infraDir, file), 'utf8')]));

function parse(file: string): Json | undefined {
  try {
    return JSON.parse(texts[file] ?? '') as Json;
  } catch {
    return undefined;
  }
}

const parsed = Object.fromEntries(jsonFiles.map((file) => [file, parse(file)]));
const templates: Record<string, JsonObject> = {};
const parameterFiles: Record<string, JsonObject> = {};
for (const [file, json] of Object.entries(parsed)) {
  if (isTemplate(json)) templates[file] = json;
  else if (file.endsWith('.parameters.example.json') && isObject(json)) parameterFiles[file] = json;
}
const customRoles = collectCustomRoles(templates);

function template(file: string): JsonObject {
  const found = templates[file];
  if (found === undefined) throw new Error(`infra/${file} is missing or is not a deployment template`);
  return found;
}

function resourceOfType(file: string, type: string): JsonObject {
  const found = listResources(template(file)).find(({ resource }) => resource.type === type);
  if (found === undefined) throw new Error(`infra/${file} has no ${type} resource`);
  return found.resource;
}

function objectAt(value: Json | undefined): JsonObject {
  return isObject(value) ? value : {};
}

const numberWords = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
];
const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const readRepoFile = (path: string) => readFileSync(repoFile(path), 'utf8');

/** Files under src/ whose text matches `pattern`. */
function sourcesMatching(pattern: RegExp): string[] {
  return readdirSync(repoFile('src'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .filter((file) => pattern.test(readRepoFile(`src/${file}`)));
}

describe('infra/ files', () => {
  it('every JSON file parses', () => {
    const unparsable = jsonFiles.filter((file) => parsed[file] === undefined);
    expect(unparsable).toEqual([]);
  });

  it('holds the six deployment templates, each with an example parameter file', () => {
    expect(Object.keys(templates).sort()).toEqual([
      'alert-webhook.json',
      'dr-storage-account.json',
      'function-app.json',
      'rbac-dr.json',
      'rbac-primary.json',
      'role-pg-failover-operator.json',
    ]);
    const expectedExamples = Object.keys(templates).map((file) =>
      file.replace(/\.json$/, '.parameters.example.json'),
    );
    expect(Object.keys(parameterFiles).sort()).toEqual(expectedExamples.sort());
  });

  it('defines each custom role once, with a matching role name', () => {
    expect(customRoles.problems).toEqual([]);
    expect(Object.keys(customRoles.roles).sort()).toEqual([
      'Kyvos DR Operation Status Reader',
      'Kyvos DR PostgreSQL Primary Fencer',
      'Kyvos DR PostgreSQL Replica Promoter',
      'Kyvos DR Storage Account Creator',
      'Kyvos DR Storage Failover Operator',
      'Kyvos DR Storage Redundancy Restorer',
    ]);
  });

  it('example parameter files agree wherever they share a parameter', () => {
    expect(checkSharedParameterValues(parameterFiles)).toEqual([]);
  });
});

describe.each(Object.keys(templates).sort())('infra/%s', (file) => {
  const t = template(file);

  it('has $schema, contentVersion and resources', () => {
    expect(checkStructure(t)).toEqual([]);
  });

  it('references only declared parameters and variables, and uses every parameter', () => {
    expect(checkReferences(t)).toEqual([]);
    expect(checkUnusedParameters(t)).toEqual([]);
  });

  it('gives every resource a type, an apiVersion and a name', () => {
    expect(checkResources(t)).toEqual([]);
  });

  it('uses only confirmed built-in roles or custom roles defined in infra/', () => {
    expect(checkRoleClaims(t, BUILT_IN_ROLES, customRoles.roles, PRIVILEGED_ROLES)).toEqual([]);
  });

  it('names role assignments with guid() and explains each one', () => {
    expect(checkRoleAssignments(t)).toEqual([]);
  });

  it('keeps custom roles narrow', () => {
    expect(checkCustomRoleDefinitions(t)).toEqual([]);
  });

  it('has no secret in a default value or anywhere else', () => {
    expect(checkNoSecretDefaults(t)).toEqual([]);
    expect(checkNoSecretLiterals(t)).toEqual([]);
  });

  it('is matched by its example parameter file', () => {
    const example = parameterFiles[file.replace(/\.json$/, '.parameters.example.json')];
    expect(example).toBeDefined();
    expect(checkParameterFile(t, example ?? {})).toEqual([]);
    expect(checkNoSecretLiterals(example)).toEqual([]);
  });
});

describe('infra/dr-storage-account.json', () => {
  it('keeps the hierarchical namespace, HTTPS only, TLS 1.2 and no public blob access', () => {
    expect(checkDrStorageAccount(template('dr-storage-account.json'))).toEqual([]);
  });

  it("keeps the Kyvos template's parameters", () => {
    expect(Object.keys(objectAt(template('dr-storage-account.json').parameters))).toEqual(
      expect.arrayContaining([
        'StorageAccountName',
        'StorageAccountContainerName',
        'MultiAzStorageAccount',
        'AdditionalTags',
      ]),
    );
  });

  it('outputs the account name and its blob and dfs endpoints', () => {
    expect(Object.keys(objectAt(template('dr-storage-account.json').outputs))).toEqual(
      expect.arrayContaining(['storageAccountName', 'blobEndpoint', 'dfsEndpoint']),
    );
  });
});

describe('infra/function-app.json', () => {
  const site = resourceOfType('function-app.json', 'Microsoft.Web/sites');
  const properties = objectAt(site.properties);
  const appSettings = objectAt(properties.siteConfig).appSettings;
  const settings = new Map(
    (Array.isArray(appSettings) ? appSettings : []).map((entry) => [
      objectAt(entry).name,
      objectAt(entry).value,
    ]),
  );

  it('sets every app setting kyvos-dr reads at start-up', () => {
    expect([...settings.keys()]).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage__accountName',
        'AzureWebJobsStorage__credential',
        'AzureWebJobsStorage__clientId',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'AZURE_CLIENT_ID',
        APP_SETTINGS.keyVaultUrl,
        APP_SETTINGS.appStorageAccount,
        APP_SETTINGS.healthStorageSchedule,
        APP_SETTINGS.healthReplicaSchedule,
      ]),
    );
    expect(settings.get('AzureWebJobsStorage__credential')).toBe('managedidentity');
    // DefaultAzureCredential and the Functions host must use the same user-assigned identity.
    expect(settings.get('AZURE_CLIENT_ID')).toBe(settings.get('AzureWebJobsStorage__clientId'));
    expect(settings.get(APP_SETTINGS.appStorageAccount)).toBe(
      settings.get('AzureWebJobsStorage__accountName'),
    );
    // The subnet the doctor checks the storage accounts' network rules against is the one the app joins.
    expect(settings.get(APP_SETTINGS.appSubnetId)).toBe(properties.virtualNetworkSubnetId);
  });

  it('uses identity-based host storage only: no connection string, no shared key', () => {
    expect(settings.has('AzureWebJobsStorage')).toBe(false);
    const hostStorage = objectAt(
      resourceOfType('function-app.json', 'Microsoft.Storage/storageAccounts').properties,
    );
    expect(hostStorage).toMatchObject({
      allowSharedKeyAccess: false,
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
    });
    const deploymentStorage = objectAt(objectAt(objectAt(properties.functionAppConfig).deployment).storage);
    expect(objectAt(deploymentStorage.authentication).type).toBe('UserAssignedIdentity');
  });

  it('runs Node.js on Flex Consumption, where the runtime is not an app setting', () => {
    const plan = resourceOfType('function-app.json', 'Microsoft.Web/serverfarms');
    expect(plan.sku).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
    expect(objectAt(objectAt(properties.functionAppConfig).runtime).name).toBe('node');
    expect(settings.has('FUNCTIONS_WORKER_RUNTIME')).toBe(false);
    expect(settings.has('FUNCTIONS_EXTENSION_VERSION')).toBe(false);
  });

  it("caps the worker's V8 old space at half the instance memory, the heap the benchmark copies with", () => {
    expect(settings.get('languageWorkers__node__arguments')).toBe(
      "[format('--max-old-space-size={0}', div(parameters('instanceMemoryMB'), 2))]",
    );
    expect(deployedWorkerHeap(template('function-app.json'))).toEqual({
      instanceMemoryMB: 2048,
      maxOldSpaceMiB: 1024,
    });
    const local = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../local.settings.example.json', import.meta.url)), 'utf8'),
    ) as { Values: Record<string, string> };
    expect(local.Values.languageWorkers__node__arguments).toBe('--max-old-space-size=1024');
  });

  it('deployedWorkerHeap names what it cannot read in a template', () => {
    const withArguments = (value: string) => {
      const copy = structuredClone(template('function-app.json'));
      const site = (copy.resources as JsonObject[]).find((r) => r.type === 'Microsoft.Web/sites');
      const appSettings = objectAt(objectAt(objectAt(site).properties).siteConfig)
        .appSettings as JsonObject[];
      for (const entry of appSettings)
        if (entry.name === 'languageWorkers__node__arguments') entry.value = value;
      return copy;
    };
    expect(() => deployedWorkerHeap(withArguments('--max-old-space-size=512'))).toThrow(
      /sets languageWorkers__node__arguments to "--max-old-space-size=512"; the benchmark reads only/,
    );
    const without = structuredClone(template('function-app.json'));
    objectAt(without.parameters).instanceMemoryMB = {};
    expect(() => deployedWorkerHeap(without)).toThrow(
      /no numeric default for the parameter instanceMemoryMB/,
    );
  });

  it('defaults both health schedules to every five minutes (NCRONTAB with seconds)', () => {
    const parameters = objectAt(template('function-app.json').parameters);
    expect(objectAt(parameters.healthStorageSchedule).defaultValue).toBe('0 */5 * * * *');
    expect(objectAt(parameters.healthReplicaSchedule).defaultValue).toBe('0 */5 * * * *');
  });

  it('grants the identity the host storage data roles it uses, no table role, and outputs its principalId', () => {
    const claimed = listResources(template('function-app.json'))
      .filter(({ resource }) => resource.type === 'Microsoft.Authorization/roleAssignments')
      .map(({ resource }) => String(objectAt(resource.properties).roleDefinitionId));
    expect(claimed.map((id) => /\['([^']+)'\]\)\]$/.exec(id)?.[1]).sort()).toEqual([
      'Monitoring Metrics Publisher',
      'Storage Blob Data Owner',
      'Storage Queue Data Contributor',
    ]);
    // No kyvos-dr code reads or writes tables, so no table role.
    expect(sourcesMatching(/@azure\/data-tables|TableClient|TableServiceClient/)).toEqual([]);
    expect(objectAt(template('function-app.json').outputs).principalId).toBeDefined();
  });

  it('runs Node.js 22 by default; Node.js 20 is out of support', () => {
    const nodeVersion = objectAt(objectAt(template('function-app.json').parameters).nodeVersion);
    expect(nodeVersion.defaultValue).toBe('22');
    expect(nodeVersion.allowedValues).not.toContain('20');
  });

  it('joins the subnet it is given and routes all outbound traffic through it', () => {
    expect(properties.virtualNetworkSubnetId).toBe("[parameters('virtualNetworkSubnetId')]");
    expect(properties.vnetRouteAllEnabled).toBe(true);
    const subnet = objectAt(objectAt(template('function-app.json').parameters).virtualNetworkSubnetId);
    expect(subnet.defaultValue).toBeUndefined();
    expect(String(objectAt(subnet.metadata).description)).toContain('Microsoft.App/environments');
  });

  it('names the Flex deployment container validly whatever the app name', () => {
    // Blob container names: 3-63 lowercase letters, digits and hyphens, starting and ending with a
    // letter or digit, no two hyphens in a row (Naming and referencing containers, blobs, and metadata).
    const containerName = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
    const appNames = ['func-kyvos-dr', `${'a'.repeat(39)}-tail`, `F${'-x'.repeat(29)}`];
    for (const functionAppName of appNames) {
      const scope = new TemplateScope(template('function-app.json'), {
        subscriptionId: '00000000-0000-0000-0000-000000000000',
        tenantId: '00000000-0000-0000-0000-000000000000',
        resourceGroup: 'rg-kyvos-dr-ops',
        location: 'eastus2',
        parameters: { functionAppName },
      });
      expect(scope.variable('deploymentContainerName'), functionAppName).toMatch(containerName);
    }
  });
});

describe('infra/alert-webhook.json', () => {
  const readText = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');

  it("gives the action group a key of the failoverAlert function only, never the app's host key", () => {
    expect(checkAlertWebhook(template('alert-webhook.json'), 'failoverAlert')).toEqual([]);
    // The name the key is for is the name the alert function registers.
    expect(readText('../../src/functions/failoverAlert.ts')).toMatch(/app\.http\('failoverAlert',/);
  });

  it('generates the key at deployment by default, so the template holds no key value', () => {
    const parameters = objectAt(template('alert-webhook.json').parameters);
    expect(objectAt(parameters.alertFunctionKey)).toMatchObject({
      type: 'securestring',
      defaultValue: '[newGuid()]',
    });
  });

  it('is what the docs use: no action group URL carries the default host key', () => {
    for (const doc of ['../../docs/deployment.md', '../../docs/runbook.md', '../../infra/README.md']) {
      const text = readText(doc);
      expect(text, doc).not.toMatch(/failover\/alert\?code=\$KEY/);
      expect(text, doc).not.toMatch(/ALERT_URL=.*\$KEY/);
    }
    expect(readText('../../docs/deployment.md')).toContain('infra/alert-webhook.json');
  });
});

describe('infra/rbac-primary.json', () => {
  it("lets the identity write exactly the secrets the failover's record step writes", () => {
    const parameters = objectAt(template('rbac-primary.json').parameters);
    expect(objectAt(parameters.activeSecretNames).defaultValue).toEqual(Object.values(ACTIVE_SECRETS));
  });
});

describe('infra/rbac-dr.json', () => {
  const alert = resourceOfType('rbac-dr.json', 'Microsoft.Insights/activityLogAlerts');
  const alertProperties = objectAt(alert.properties);

  it("alerts on every write to the replica and the primary server, the Promoter role's breadth", () => {
    expect(objectAt(alertProperties.condition).allOf).toEqual(
      expect.arrayContaining([
        { field: 'category', equals: 'Administrative' },
        { field: 'operationName', equals: 'Microsoft.DBforPostgreSQL/flexibleServers/write' },
      ]),
    );
    expect(alertProperties.scopes).toEqual([
      "[resourceId('Microsoft.DBforPostgreSQL/flexibleServers', parameters('replicaPostgresServerName'))]",
      "[resourceId(parameters('primaryResourceGroupName'), 'Microsoft.DBforPostgreSQL/flexibleServers', parameters('primaryPostgresServerName'))]",
    ]);
    const promoter = listResources(template('role-pg-failover-operator.json')).find(
      ({ resource }) =>
        resource.name === "[variables('customRoles')['Kyvos DR PostgreSQL Replica Promoter']]",
    );
    const actions = (objectAt(promoter?.resource.properties).permissions as JsonObject[]).flatMap(
      (p) => p.actions as string[],
    );
    expect(actions).toContain('Microsoft.DBforPostgreSQL/flexibleServers/write');
  });

  it("notifies operators, never the failover webhook's action group", () => {
    expect(objectAt(alertProperties.actions).actionGroups).toEqual([
      { actionGroupId: "[parameters('serverWriteAlertActionGroupId')]" },
    ]);
    const example = String(
      objectAt(
        objectAt(parameterFiles['rbac-dr.parameters.example.json']?.parameters).serverWriteAlertActionGroupId,
      ).value,
    );
    const failoverGroup = String(
      objectAt(objectAt(parameterFiles['alert-webhook.parameters.example.json']?.parameters).actionGroupName)
        .value,
    );
    expect(example.split('/').at(-1)).not.toBe(failoverGroup);
  });
});

describe('the deployment docs', () => {
  it('name the rights a deployer needs: User Access Administrator alone cannot write deployments', () => {
    for (const doc of ['docs/deployment.md', 'infra/README.md']) {
      const text = readRepoFile(doc);
      expect(text, doc).not.toMatch(/Owner or User Access\s+Administrator/);
      expect(text, doc).toMatch(/Contributor\s+\+\s+User Access\s+Administrator/);
    }
  });

  it('list the functions the app registers', () => {
    const registered = readdirSync(repoFile('src/functions'))
      .flatMap((file) => [...readRepoFile(`src/functions/${file}`).matchAll(/app\.\w+\('(\w+)',/g)])
      .map((match) => match[1])
      .sort();
    const text = readRepoFile('docs/deployment.md');
    const listed = /Expect ((?:`\w+`(?:, | and )?)+)/
      .exec(text)?.[1]
      ?.match(/(?<=`)\w+(?=`)/g)
      ?.sort();
    expect(listed).toEqual(registered);
    expect(text).toContain(`the ${numberWords[registered.length]} functions`);
  });

  it('say how to revoke the broader grant when a parameter narrows it', () => {
    for (const doc of ['docs/rbac.md', 'infra/README.md']) {
      expect(readRepoFile(doc), doc).toMatch(/az role assignment delete/);
    }
  });

  it('describe the .funcignore the repository has', () => {
    expect(readRepoFile('.funcignore')).toMatch(/^\*\.ts$/m);
    expect(readRepoFile('docs/deployment.md')).not.toMatch(/\.funcignore[^.]*the repository has none/);
  });
});

describe('the RBAC table', () => {
  const rbacTable = (path: string): string[] => {
    const lines = readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8').split('\n');
    const start = lines.indexOf('| Role | Scope | Why |');
    if (start < 0) return [];
    const end = lines.findIndex((line, index) => index > start && !line.startsWith('|'));
    return lines.slice(start, end < 0 ? undefined : end);
  };
  const readme = rbacTable('../../infra/README.md');
  const docs = rbacTable('../../docs/rbac.md');

  it('is the same in infra/README.md and docs/rbac.md', () => {
    expect(readme.length).toBeGreaterThan(2);
    expect(docs).toEqual(readme);
  });

  it('names only roles that a template claims', () => {
    const claimed = new Set(
      Object.values(templates).flatMap((t) => [
        ...Object.keys(objectAt(objectAt(t.variables).builtInRoles)),
        ...Object.keys(objectAt(objectAt(t.variables).customRoles)),
      ]),
    );
    const named = readme
      .slice(2)
      .flatMap((row) => (row.split('|')[1] ?? '').split('+'))
      .map((role) => role.replace('(custom)', '').trim())
      // "Key Vault Secrets User + Secrets Officer" names two roles in one row.
      .map((role) => (role === 'Secrets Officer' ? 'Key Vault Secrets Officer' : role));
    expect(named.filter((role) => !claimed.has(role))).toEqual([]);
  });
});

describe('the checks report broken templates', () => {
  const base = (): JsonObject => ({
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    parameters: {},
    variables: {},
    resources: [],
  });

  it('checkStructure: missing contentVersion and resources', () => {
    const problems = checkStructure({ $schema: 'https://example.com/other.json#' });
    expect(problems).toHaveLength(3);
  });

  it('checkReferences: a parameter nested inside other functions that is not declared', () => {
    const broken = {
      ...base(),
      parameters: { name: { type: 'string' } },
      outputs: {
        id: { type: 'string', value: "[resourceId('X/y', concat(parameters('name'), parameters('nmae')))]" },
      },
    };
    expect(checkReferences(broken)).toEqual([
      "$.outputs.id.value uses parameters('nmae'), which is not declared in parameters",
    ]);
  });

  it('checkReferences: an undeclared variable in an object key', () => {
    const broken = { ...base(), resources: [{ identity: { "[variables('identityId')]": {} } }] };
    expect(checkReferences(broken)).toHaveLength(1);
  });

  it('checkUnusedParameters: a declared parameter nothing uses', () => {
    expect(checkUnusedParameters({ ...base(), parameters: { unused: { type: 'string' } } })).toEqual([
      "parameter 'unused' is declared but never used; remove it or use it",
    ]);
  });

  it('checkResources: a top-level short type, a nested child without an apiVersion, a malformed apiVersion', () => {
    const broken: JsonObject = {
      ...base(),
      resources: [
        {
          type: 'Microsoft.Storage/storageAccounts',
          apiVersion: '2023-5-1',
          name: 'a',
          resources: [{ type: 'blobServices', name: 'default' }],
        },
        { type: 'blobServices', apiVersion: '2023-05-01', name: 'b' },
      ],
    };
    expect(checkResources(broken)).toEqual([
      '$.resources[0] needs an apiVersion in the form YYYY-MM-DD or YYYY-MM-DD-preview',
      '$.resources[0].resources[0] needs an apiVersion in the form YYYY-MM-DD or YYYY-MM-DD-preview',
      '$.resources[1] needs a type such as "Microsoft.Storage/storageAccounts"',
    ]);
  });

  it('checkRoleClaims: a GUID claimed under the wrong name, an unknown role, a privileged role, a stray GUID', () => {
    const broken = {
      ...base(),
      variables: {
        builtInRoles: {
          Reader: BUILT_IN_ROLES['Storage Blob Data Reader'] ?? '',
          'Storage Blob Data Hacker': '11111111-1111-1111-1111-111111111111',
          Contributor: PRIVILEGED_ROLES.Contributor ?? '',
        },
        customRoles: { 'Made Up Role': "[guid(subscription().id, 'x')]" },
      },
      resources: [
        {
          type: 'Microsoft.Authorization/roleAssignments',
          properties: {
            roleDefinitionId:
              "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
          },
        },
      ],
    };
    const problems = checkRoleClaims(broken, BUILT_IN_ROLES, {}, PRIVILEGED_ROLES);
    expect(problems).toEqual([
      expect.stringContaining('builtInRoles["Reader"] is "2a2b9908'),
      expect.stringContaining('builtInRoles["Storage Blob Data Hacker"] is not a confirmed built-in role'),
      expect.stringContaining('builtInRoles["Contributor"] is a privileged role'),
      expect.stringContaining('customRoles["Made Up Role"] is not defined'),
      expect.stringContaining('contains the GUID acdd72a7-3385-48ef-bd42-f606fba81ae7'),
      expect.stringContaining('$.resources[0]: roleDefinitionId must be'),
    ]);
  });

  it('checkRoleClaims: a custom role whose ID expression differs from its definition', () => {
    const broken = {
      ...base(),
      variables: { customRoles: { Promoter: "[guid(subscription().id, 'other')]" } },
    };
    const problems = checkRoleClaims(broken, BUILT_IN_ROLES, { Promoter: "[guid(subscription().id, 'p')]" });
    expect(problems).toEqual([expect.stringContaining('but its definition uses')]);
  });

  it('collectCustomRoles: a role definition not named from variables.customRoles', () => {
    const broken = {
      ...base(),
      resources: [
        {
          type: 'Microsoft.Authorization/roleDefinitions',
          name: "[guid(subscription().id, 'x')]",
          properties: { roleName: 'X' },
        },
      ],
    };
    expect(collectCustomRoles({ 'broken.json': broken }).problems).toHaveLength(1);
  });

  it('checkRoleAssignments: a fixed name, a missing principalType and no description', () => {
    const broken = {
      ...base(),
      resources: [
        {
          type: 'Microsoft.Authorization/roleAssignments',
          name: 'reader-on-storage',
          properties: {
            roleDefinitionId: "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'x')]",
            principalId: "[parameters('principalId')]",
          },
        },
      ],
    };
    expect(checkRoleAssignments(broken)).toEqual([
      expect.stringContaining('name must be [guid('),
      expect.stringContaining('must include the role definition ID expression'),
      expect.stringContaining('must include the principalId expression'),
      expect.stringContaining('principalType must be "ServicePrincipal"'),
      expect.stringContaining('description must say why'),
    ]);
  });

  it('checkCustomRoleDefinitions: wildcards, delete, data actions and a subscription-wide scope', () => {
    const broken = {
      ...base(),
      resources: [
        {
          type: 'Microsoft.Authorization/roleDefinitions',
          properties: {
            permissions: [
              {
                actions: ['Microsoft.DBforPostgreSQL/*', 'Microsoft.DBforPostgreSQL/flexibleServers/delete'],
                dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
              },
            ],
            assignableScopes: ['[subscription().id]'],
          },
        },
      ],
    };
    expect(checkCustomRoleDefinitions(broken)).toEqual([
      expect.stringContaining('is a wildcard'),
      expect.stringContaining('deletes'),
      expect.stringContaining('dataActions must be empty'),
      expect.stringContaining('is wider than a resource group'),
    ]);
  });

  it('checkNoSecretDefaults: a defaulted password, a defaulted securestring, a SAS and an account key', () => {
    const accountKey = `${'A1b2C3d4'.repeat(10)}abcdef==`;
    expect(accountKey).toHaveLength(88);
    const broken = {
      ...base(),
      parameters: {
        adminPassword: { type: 'string', defaultValue: 'hunter2' },
        token: { type: 'securestring', defaultValue: 'x' },
        sourceUrl: {
          type: 'string',
          defaultValue: 'https://a.blob.core.windows.net/c?sv=2022-11-02&sig=abc%3D',
        },
        settings: { type: 'object', defaultValue: { key: accountKey } },
      },
    };
    expect(checkNoSecretDefaults(broken)).toEqual([
      "parameter 'adminPassword' sounds like a secret and must not have a defaultValue (rename it if it is not a secret)",
      "parameter 'token' is securestring and must not have a defaultValue",
      expect.stringContaining('$.parameters.sourceUrl.defaultValue contains "sig="'),
      '$.parameters.settings.defaultValue.key contains what looks like a storage account key',
    ]);
  });

  it('checkNoSecretDefaults: a key generated at deployment ([newGuid()]) is not a secret in the template', () => {
    const generated = {
      ...base(),
      parameters: { webhookKey: { type: 'securestring', defaultValue: '[newGuid()]' } },
    };
    expect(checkNoSecretDefaults(generated)).toEqual([]);
    const fixed = {
      ...base(),
      parameters: { webhookKey: { type: 'securestring', defaultValue: '[concat(newGuid())]x' } },
    };
    expect(checkNoSecretDefaults(fixed)).toHaveLength(1);
  });

  it("checkAlertWebhook: the host's default key in the URL, a key of another function, no common alert schema", () => {
    const broken: JsonObject = {
      ...base(),
      parameters: { functionAppName: { type: 'string' }, alertKey: { type: 'string' } },
      variables: { fn: 'failoverStart' },
      resources: [
        {
          type: 'Microsoft.Web/sites/functions/keys',
          apiVersion: '2024-04-01',
          name: "[format('{0}/{1}/k', parameters('functionAppName'), variables('fn'))]",
          value: "[parameters('alertKey')]",
        },
        {
          type: 'Microsoft.Insights/actionGroups',
          apiVersion: '2023-01-01',
          name: 'ag',
          properties: {
            webhookReceivers: [
              {
                name: 'w',
                serviceUri:
                  "[format('https://x/api/failover/alert?code={0}', listKeys(resourceId('Microsoft.Web/sites/host', parameters('functionAppName'), 'default'), '2024-04-01').functionKeys.default)]",
              },
            ],
          },
        },
      ],
    };
    expect(checkAlertWebhook(broken, 'failoverAlert')).toEqual([
      expect.stringContaining('must name the function failoverAlert'),
      expect.stringContaining("must be [parameters('…')] of a securestring parameter"),
      expect.stringContaining('must pass the function key parameter as code'),
      expect.stringContaining('useCommonAlertSchema must be true'),
      expect.stringContaining('uses a host-level key (listKeys'),
      expect.stringContaining('uses a host-level key (functionKeys'),
    ]);
  });

  it('checkDrStorageAccount: hierarchical namespace off and blob public access on', () => {
    const broken = {
      ...base(),
      resources: [
        {
          type: 'Microsoft.Storage/storageAccounts',
          kind: 'StorageV2',
          properties: {
            isHnsEnabled: false,
            minimumTlsVersion: 'TLS1_2',
            supportsHttpsTrafficOnly: true,
            allowBlobPublicAccess: true,
          },
        },
      ],
    };
    expect(checkDrStorageAccount(broken)).toEqual([
      '$.resources[0].properties.isHnsEnabled is false; it must be true',
      '$.resources[0].properties.allowBlobPublicAccess is true; it must be false',
    ]);
  });

  it('checkParameterFile: an unknown parameter, a missing required one, a wrong type and a disallowed value', () => {
    const withParameters = {
      ...base(),
      parameters: {
        name: { type: 'string' },
        zoneRedundant: { type: 'bool', defaultValue: false },
        nodeVersion: { type: 'string', defaultValue: '20', allowedValues: ['20', '22'] },
      },
    };
    const example = {
      $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#',
      contentVersion: '1.0.0.0',
      parameters: { nmae: { value: 'x' }, zoneRedundant: { value: 'false' }, nodeVersion: { value: '18' } },
    };
    expect(checkParameterFile(withParameters, example)).toEqual([
      "parameter 'nmae' is not declared by the template",
      'parameter \'zoneRedundant\' is "false", not a bool',
      'parameter \'nodeVersion\' is "18", not one of ["20","22"]',
      "required parameter 'name' (no defaultValue) is missing",
    ]);
  });

  it('checkSharedParameterValues: two example files that disagree on the Key Vault', () => {
    const file = (keyVaultName: string): JsonObject => ({
      parameters: { keyVaultName: { value: keyVaultName } },
    });
    expect(checkSharedParameterValues({ 'a.json': file('kv-kyvos'), 'b.json': file('kv-other') })).toEqual([
      'parameter \'keyVaultName\' is "kv-other" in b.json but "kv-kyvos" in a.json',
    ]);
  });
});
