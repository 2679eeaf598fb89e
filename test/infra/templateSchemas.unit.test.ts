import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DeploymentContext } from '../../local/emulator/authorization/templateExpressions.js';
import {
  deploymentScopeOf,
  describeErrors,
  evaluateTemplate,
  referenceStandIn,
  TemplateSchemas,
} from './templateSchemas.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const infraDir = fileURLToPath(new URL('../../infra/', import.meta.url));
const readJson = (file: string) => JSON.parse(readFileSync(join(infraDir, file), 'utf8')) as JsonObject;
const templateFiles = readdirSync(infraDir)
  .filter((file) => file.endsWith('.json') && !file.endsWith('.parameters.example.json'))
  .sort();

/** Where infra/README.md deploys each template (the resource group of a resource-group deployment). */
const RESOURCE_GROUPS: Record<string, string> = {
  'alert-webhook.json': 'rg-kyvos-dr-ops',
  'dr-storage-account.json': 'rg-kyvos-dr',
  'function-app.json': 'rg-kyvos-dr-ops',
  'rbac-dr.json': 'rg-kyvos-dr',
  'rbac-primary.json': 'rg-kyvos',
};

/** The deployment of `file` with its example parameters, as infra/README.md runs it. */
function contextFor(file: string, template: JsonObject): DeploymentContext {
  const example = readJson(file.replace(/\.json$/, '.parameters.example.json'));
  const parameters = Object.fromEntries(
    Object.entries(example.parameters as Record<string, { value: Json }>).map(([name, entry]) => [
      name,
      entry.value,
    ]),
  );
  const resourceGroup = RESOURCE_GROUPS[file];
  if (deploymentScopeOf(template) === 'resourceGroup' && resourceGroup === undefined) {
    throw new Error(`infra/${file}: add its resource group to RESOURCE_GROUPS`);
  }
  return {
    subscriptionId: '00000000-0000-0000-0000-000000000000',
    tenantId: '00000000-0000-0000-0000-000000000000',
    location: 'eastus2',
    parameters,
    deploymentName: file.replace(/\.json$/, ''),
    resolveReference: referenceStandIn,
    ...(deploymentScopeOf(template) === 'resourceGroup' ? { resourceGroup } : {}),
  };
}

const schemas = TemplateSchemas.load();

function errorsOf(file: string, template: JsonObject = readJson(file)) {
  return schemas.validateTemplate(evaluateTemplate(template, contextFor(file, template)));
}

/** A copy of an infra/ template with `change` applied to its resource of type `type`. */
function mutated(file: string, type: string, change: (resource: JsonObject) => void): JsonObject {
  const copy = structuredClone(readJson(file));
  const resource = (copy.resources as JsonObject[]).find((r) => r.type === type);
  if (resource === undefined) throw new Error(`infra/${file} has no ${type}`);
  change(resource);
  return copy;
}

const indexOfType = (file: string, type: string) =>
  (readJson(file).resources as JsonObject[]).findIndex((r) => r.type === type);

describe.each(templateFiles)('infra/%s against the official schemas', (file) => {
  it('validates, every expression evaluated, no undeclared property', () => {
    expect(describeErrors(errorsOf(file))).toEqual([]);
  });

  it('has an example parameter file that validates', () => {
    const example = readJson(file.replace(/\.json$/, '.parameters.example.json'));
    expect(describeErrors(schemas.validateParameters(example))).toEqual([]);
  });
});

describe('the schema validation reports', () => {
  const site = indexOfType('function-app.json', 'Microsoft.Web/sites');

  it('a misspelled property', () => {
    const broken = mutated('function-app.json', 'Microsoft.Web/sites', (resource) => {
      const properties = resource.properties as JsonObject;
      properties.virtualNetworkSubnetID = properties.virtualNetworkSubnetId ?? null;
      delete properties.virtualNetworkSubnetId;
    });
    expect(errorsOf('function-app.json', broken)).toContainEqual(
      expect.objectContaining({
        instancePath: `/resources/${site}/properties`,
        keyword: 'additionalProperties',
        params: { additionalProperty: 'virtualNetworkSubnetID' },
      }),
    );
  });

  it('a value outside an enum, once its expression is evaluated', () => {
    const broken = mutated('function-app.json', 'Microsoft.Storage/storageAccounts', (resource) => {
      resource.sku = { name: "[if(parameters('zoneRedundant'), 'Standard_ZRS', 'Standard_LRZ')]" };
    });
    const account = indexOfType('function-app.json', 'Microsoft.Storage/storageAccounts');
    expect(errorsOf('function-app.json', broken)).toContainEqual(
      expect.objectContaining({ instancePath: `/resources/${account}/sku/name`, keyword: 'enum' }),
    );
  });

  it('an API version the resource type does not have', () => {
    const broken = mutated('function-app.json', 'Microsoft.Web/sites', (resource) => {
      resource.apiVersion = '2024-13-01';
    });
    expect(errorsOf('function-app.json', broken)).toContainEqual(
      expect.objectContaining({
        instancePath: `/resources/${site}/apiVersion`,
        keyword: 'enum',
        params: { allowedValues: ['2024-04-01'] },
      }),
    );
  });

  it('a read-only property set in a template: sku.tier of a storage account', () => {
    const broken = mutated('dr-storage-account.json', 'Microsoft.Storage/storageAccounts', (resource) => {
      (resource.sku as JsonObject).tier = 'Standard';
    });
    expect(errorsOf('dr-storage-account.json', broken)).toContainEqual(
      expect.objectContaining({
        instancePath: '/resources/0/sku',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'tier' },
      }),
    );
  });

  it('a property at the resource level that neither resourceBase nor the type declares', () => {
    const broken = mutated('rbac-dr.json', 'Microsoft.Insights/activityLogAlerts', (resource) => {
      resource.dependOn = [];
    });
    const alert = indexOfType('rbac-dr.json', 'Microsoft.Insights/activityLogAlerts');
    expect(errorsOf('rbac-dr.json', broken)).toContainEqual(
      expect.objectContaining({
        instancePath: `/resources/${alert}`,
        keyword: 'unevaluatedProperties',
        params: { unevaluatedProperty: 'dependOn' },
      }),
    );
  });

  it('a resource type with no vendored schema', () => {
    const broken = mutated('rbac-dr.json', 'Microsoft.Insights/activityLogAlerts', (resource) => {
      resource.type = 'Microsoft.Insights/activityLogAlert';
    });
    const alert = indexOfType('rbac-dr.json', 'Microsoft.Insights/activityLogAlerts');
    expect(errorsOf('rbac-dr.json', broken)).toContainEqual(
      expect.objectContaining({ instancePath: `/resources/${alert}/type`, keyword: 'enum' }),
    );
  });

  it('an expression that cannot be evaluated, naming the resource', () => {
    const broken = mutated('function-app.json', 'Microsoft.Web/sites', (resource) => {
      resource.name = "[parameters('functionAppNmae')]";
    });
    expect(() => errorsOf('function-app.json', broken)).toThrow(
      new RegExp(
        `Cannot evaluate \\$\\.resources\\[${site}\\]: parameters\\('functionAppNmae'\\) is not declared`,
      ),
    );
  });

  it('a parameter file entry without a value', () => {
    const example = readJson('function-app.parameters.example.json');
    (example.parameters as JsonObject).nodeVersion = { vaule: '22' };
    expect(schemas.validateParameters(example)).toContainEqual(
      expect.objectContaining({
        instancePath: '/parameters/nodeVersion',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'vaule' },
      }),
    );
  });
});
