import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RolePermission } from '../../../src/lib/doctor/rolePermissions.js';
import type { RbacPolicy, RoleAssignment, RoleDefinition } from './accessCheck.js';
import { BUILT_IN_ROLE_DEFINITIONS } from './builtInRoleDefinitions.js';
import {
  type DeploymentContext,
  TemplateExpressionError,
  TemplateScope,
  type TemplateValue,
} from './templateExpressions.js';

/** The templates of `infra/` that grant the app's identity its roles, and where each is deployed. */
const INFRA_RBAC_TEMPLATES = [
  'role-pg-failover-operator.json',
  'function-app.json',
  'rbac-primary.json',
  'rbac-dr.json',
] as const;

export type InfraRbacTemplate = (typeof INFRA_RBAC_TEMPLATES)[number];

const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../infra');

type Json = TemplateValue;
type JsonObject = { [key: string]: Json };

export interface InfraDeployment {
  subscriptionId: string;
  tenantId: string;
  /** The app identity's principal (object) ID: `principalId` of rbac-*.json, the identity of function-app.json. */
  principalId: string;
  /** Resource group and region of each template's deployment (subscription deployments need none). */
  deployments: Record<
    Exclude<InfraRbacTemplate, 'role-pg-failover-operator.json'>,
    { resourceGroup: string; location: string }
  > & {
    'role-pg-failover-operator.json': { location: string };
  };
  /** Parameters by template, over the template's `*.parameters.example.json`. */
  parameters: Partial<Record<InfraRbacTemplate, Record<string, Json>>>;
  /** Read templates from here instead of `infra/` (tests of older template versions). */
  templates?: Partial<Record<InfraRbacTemplate, JsonObject>>;
}

class InfraTemplateError extends Error {
  override readonly name = 'InfraTemplateError';
}

function readJson(file: string): JsonObject {
  return JSON.parse(readFileSync(path.join(INFRA_DIR, file), 'utf8')) as JsonObject;
}

function exampleParameters(file: InfraRbacTemplate): Record<string, Json> {
  const example = readJson(file.replace(/\.json$/, '.parameters.example.json'));
  const entries = Object.entries((example.parameters ?? {}) as Record<string, { value?: Json }>);
  return Object.fromEntries(entries.map(([name, entry]) => [name, entry.value ?? null]));
}

function resourcesOfType(template: JsonObject, type: string): JsonObject[] {
  const found: JsonObject[] = [];
  const visit = (resources: Json | undefined) => {
    if (!Array.isArray(resources)) return;
    for (const resource of resources) {
      if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) continue;
      if (typeof resource.type === 'string' && resource.type.toLowerCase() === type) found.push(resource);
      visit(resource.resources);
    }
  };
  visit(template.resources);
  return found;
}

/** One instance per copy index (or one without), skipping instances whose `condition` is false. */
function instances(resource: JsonObject, scope: TemplateScope): TemplateScope[] {
  const copy = resource.copy as JsonObject | undefined;
  const count = copy ? Number(scope.evaluate(copy.count ?? 0)) : undefined;
  const scopes =
    count === undefined ? [scope] : Array.from({ length: count }, (_, i) => scope.withCopyIndex(i));
  return scopes.filter((s) => resource.condition === undefined || s.evaluate(resource.condition) === true);
}

/**
 * The scope of a role assignment resource: its `scope` property is a resource ID relative to the
 * deployment's resource group ("Apply scope to extension resources", learn.microsoft.com/azure/
 * azure-resource-manager/templates/scope-extension-resources), or the deployment's scope without it.
 */
function assignmentScope(resource: JsonObject, scope: TemplateScope, deploymentScope: string): string {
  if (resource.scope === undefined) return deploymentScope;
  const value = String(scope.evaluate(resource.scope));
  return value.startsWith('/') ? value : `${deploymentScope}/providers/${value}`;
}

function customRoleDefinitions(template: JsonObject, scope: TemplateScope): RoleDefinition[] {
  return resourcesOfType(template, 'microsoft.authorization/roledefinitions').flatMap((resource) =>
    instances(resource, scope).map((s) => {
      const properties = s.evaluate(resource.properties ?? {}) as JsonObject;
      return {
        id: String(s.evaluate(resource.name ?? '')),
        roleName: String(properties.roleName ?? ''),
        permissions: ((properties.permissions ?? []) as JsonObject[]).map(
          (p): RolePermission => ({
            actions: (p.actions ?? []) as string[],
            notActions: (p.notActions ?? []) as string[],
            dataActions: (p.dataActions ?? []) as string[],
            notDataActions: (p.notDataActions ?? []) as string[],
          }),
        ),
      };
    }),
  );
}

function roleAssignments(
  template: JsonObject,
  scope: TemplateScope,
  deploymentScope: string,
  file: string,
): RoleAssignment[] {
  return resourcesOfType(template, 'microsoft.authorization/roleassignments').flatMap((resource) =>
    instances(resource, scope).map((s) => {
      const properties = resource.properties as JsonObject;
      return {
        principalId: String(s.evaluate(properties.principalId ?? '')),
        roleDefinitionId: String(s.evaluate(properties.roleDefinitionId ?? '')),
        scope: assignmentScope(resource, s, deploymentScope),
        source: file,
      };
    }),
  );
}

/**
 * Evaluates the `infra/` templates as ARM would deploy them with `deployment`'s names, and returns
 * every role assignment they create (the app identity's, since that is the only principal they
 * name) and the role definitions those assignments use: the custom roles the templates define, and
 * the built-in roles from `BUILT_IN_ROLE_DEFINITIONS`. A role assignment whose role is neither is an
 * error: an unknown role must never be evaluated at all.
 */
export function evaluateInfraRbac(deployment: InfraDeployment): RbacPolicy {
  const assignments: RoleAssignment[] = [];
  const customRoles: RoleDefinition[] = [];
  for (const file of INFRA_RBAC_TEMPLATES) {
    const template = deployment.templates?.[file] ?? readJson(file);
    const target = deployment.deployments[file];
    const resourceGroup = 'resourceGroup' in target ? target.resourceGroup : undefined;
    const identityId =
      resourceGroup === undefined
        ? undefined
        : `/subscriptions/${deployment.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`;
    const parameters = { ...exampleParameters(file), ...deployment.parameters[file] };
    const context: DeploymentContext = {
      subscriptionId: deployment.subscriptionId,
      tenantId: deployment.tenantId,
      location: target.location,
      parameters,
      ...(resourceGroup !== undefined ? { resourceGroup } : {}),
    };
    const scope = new TemplateScope(template, context);
    if (identityId !== undefined && 'identityName' in ((template.parameters ?? {}) as JsonObject)) {
      // function-app.json creates the identity; reference() of it answers the app's principal.
      context.references = {
        [`${identityId}/${String(scope.parameter('identityName'))}`]: {
          principalId: deployment.principalId,
          clientId: deployment.principalId,
        },
      };
    }
    const deploymentScope =
      resourceGroup === undefined
        ? `/subscriptions/${deployment.subscriptionId}`
        : `/subscriptions/${deployment.subscriptionId}/resourceGroups/${resourceGroup}`;
    try {
      customRoles.push(...customRoleDefinitions(template, scope));
      assignments.push(...roleAssignments(template, scope, deploymentScope, file));
    } catch (error) {
      if (error instanceof TemplateExpressionError) {
        throw new InfraTemplateError(`Cannot evaluate infra/${file}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  const roleDefinitions = [...BUILT_IN_ROLE_DEFINITIONS, ...customRoles];
  const known = new Set(roleDefinitions.map((r) => r.id.toLowerCase()));
  for (const assignment of assignments) {
    const id = (assignment.roleDefinitionId.split('/').pop() ?? '').toLowerCase();
    if (!known.has(id)) {
      throw new InfraTemplateError(
        `infra/${assignment.source} assigns the role definition ${assignment.roleDefinitionId}, which is neither a custom role of infra/ nor in local/emulator/authorization/builtInRoleDefinitions.ts; add its permissions from the Azure built-in roles page.`,
      );
    }
  }
  return { assignments, roleDefinitions };
}
