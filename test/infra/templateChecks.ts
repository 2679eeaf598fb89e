/**
 * Structural checks for the ARM templates in `infra/`. Bicep cannot be compiled here and nothing is
 * deployed by the tests, so these checks catch what `az deployment ... validate` would catch first
 * (undefined parameters, malformed resources) plus the project's own rules (confirmed built-in role
 * IDs, least privilege, no secrets in defaults).
 *
 * Every check takes parsed JSON and returns a list of problems, each a sentence naming the template
 * path and what to change; an empty list means the check passed. Tests feed the same functions both
 * the real templates and small broken ones, so each check is proven able to fail.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const DEPLOYMENT_TEMPLATE_SCHEMA = /\/(deploymentTemplate|subscriptionDeploymentTemplate)\.json#?$/i;
const PARAMETERS_SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#';
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** `parameters('x')` / `variables('x')` anywhere in an expression; ARM function names are case-insensitive. */
const REFERENCE = /\b(parameters|variables)\s*\(\s*'((?:[^']|'')*)'\s*\)/gi;
/** `variables('builtInRoles')['Role name']` and the same for customRoles. */
const ROLE_CLAIM = /variables\s*\(\s*'(builtInRoles|customRoles)'\s*\)\s*\[\s*'((?:[^']|'')*)'\s*\]/gi;
const ROLE_DEFINITION_ID = /subscriptionResourceId\(\s*'Microsoft\.Authorization\/roleDefinitions'\s*,/i;
const SECRET_PARAMETER_NAME = /password|secret|key|sas|token|connection/i;
/** A storage account key: 64 random bytes in base64 (88 characters, ending in `==`). */
const ACCOUNT_KEY = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/;
const SECRET_MARKERS = [/sig=/i, /AccountKey=/i, /SharedAccessSignature=/i, /SharedAccessKey=/i];
/** `[newGuid()]`: a value ARM generates at each deployment (allowed only as a parameter default). */
const GENERATED_DEFAULT = /^\[\s*newGuid\(\s*\)\s*\]$/i;
/** What reads or names the Function app's host-level keys, which open every function. */
const HOST_KEY_MARKERS = [/listKeys\s*\(/i, /host\/default/i, /functionKeys/i, /masterKey/i, /\/host\//i];
const ROLE_ASSIGNMENT = 'microsoft.authorization/roleassignments';
const ROLE_DEFINITION = 'microsoft.authorization/roledefinitions';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deployment template (resource group or subscription scope), recognised by its `$schema`. */
export function isTemplate(value: unknown): value is JsonObject {
  return (
    isObject(value) && typeof value.$schema === 'string' && DEPLOYMENT_TEMPLATE_SCHEMA.test(value.$schema)
  );
}

/** An ARM template expression: `[...]`, but not `[[...`, which ARM reads as a literal starting with `[`. */
function isExpression(text: string): boolean {
  return text.startsWith('[') && !text.startsWith('[[') && text.endsWith(']');
}

/** Every string in a JSON value, object keys included (ARM evaluates expressions in keys), with its path. */
function* walkStrings(value: Json | undefined, path = '$'): Generator<{ path: string; text: string }> {
  if (typeof value === 'string') {
    yield { path, text: value };
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* walkStrings(item, `${path}[${index}]`);
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      yield { path: `${path} (key)`, text: key };
      yield* walkStrings(item, `${path}.${key}`);
    }
  }
}

/** The template's resources, including child resources nested in `resources` arrays, with their paths. */
export function listResources(template: JsonObject): { path: string; resource: JsonObject }[] {
  const found: { path: string; resource: JsonObject }[] = [];
  const visit = (resources: Json | undefined, path: string) => {
    if (!Array.isArray(resources)) return;
    for (const [index, resource] of resources.entries()) {
      const resourcePath = `${path}[${index}]`;
      if (!isObject(resource)) continue;
      found.push({ path: resourcePath, resource });
      visit(resource.resources, `${resourcePath}.resources`);
    }
  };
  visit(template.resources, '$.resources');
  return found;
}

function resourcesOfType(template: JsonObject, type: string) {
  return listResources(template).filter(
    ({ resource }) => typeof resource.type === 'string' && resource.type.toLowerCase() === type,
  );
}

function objectAt(value: Json | undefined): JsonObject {
  return isObject(value) ? value : {};
}

function references(
  template: JsonObject,
): { kind: 'parameters' | 'variables'; name: string; path: string }[] {
  const found: { kind: 'parameters' | 'variables'; name: string; path: string }[] = [];
  for (const { path, text } of walkStrings(template)) {
    if (!isExpression(text)) continue;
    for (const match of text.matchAll(REFERENCE)) {
      const kind = match[1]?.toLowerCase() === 'parameters' ? 'parameters' : 'variables';
      found.push({ kind, name: (match[2] ?? '').replaceAll("''", "'"), path });
    }
  }
  return found;
}

/** `$schema`, `contentVersion` and a `resources` array: what ARM rejects a template without. */
export function checkStructure(template: JsonObject): string[] {
  const problems: string[] = [];
  if (!isTemplate(template)) {
    problems.push(
      '$schema must be a deploymentTemplate.json or subscriptionDeploymentTemplate.json schema URL',
    );
  }
  if (typeof template.contentVersion !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(template.contentVersion)) {
    problems.push('contentVersion must be a four-part version such as "1.0.0.0"');
  }
  if (!Array.isArray(template.resources)) problems.push('resources must be an array');
  return problems;
}

/** Every `parameters('x')` and `variables('x')` in an expression names a declared parameter or variable. */
export function checkReferences(template: JsonObject): string[] {
  const declared = {
    parameters: new Set(Object.keys(objectAt(template.parameters))),
    variables: new Set(Object.keys(objectAt(template.variables))),
  };
  return references(template)
    .filter(({ kind, name }) => !declared[kind].has(name))
    .map(({ kind, name, path }) => `${path} uses ${kind}('${name}'), which is not declared in ${kind}`);
}

/** Every declared parameter is used; an unused one misleads whoever fills in the parameter file. */
export function checkUnusedParameters(template: JsonObject): string[] {
  const used = new Set(
    references(template).flatMap(({ kind, name }) => (kind === 'parameters' ? [name] : [])),
  );
  return Object.keys(objectAt(template.parameters))
    .filter((name) => !used.has(name))
    .map((name) => `parameter '${name}' is declared but never used; remove it or use it`);
}

/**
 * Every resource, nested ones included, has a type (namespaced at the top level), an apiVersion
 * (YYYY-MM-DD[-preview]) and a name.
 */
export function checkResources(template: JsonObject): string[] {
  const problems: string[] = [];
  for (const { path, resource } of listResources(template)) {
    // A child nested in its parent's `resources` may use the short type ("blobServices").
    const nested = path.lastIndexOf('.resources[') > path.indexOf('.resources[');
    if (
      typeof resource.type !== 'string' ||
      resource.type.length === 0 ||
      (!nested && !resource.type.includes('/'))
    ) {
      problems.push(`${path} needs a type such as "Microsoft.Storage/storageAccounts"`);
    }
    if (typeof resource.apiVersion !== 'string' || !API_VERSION.test(resource.apiVersion)) {
      problems.push(`${path} needs an apiVersion in the form YYYY-MM-DD or YYYY-MM-DD-preview`);
    }
    if (typeof resource.name !== 'string' || resource.name.length === 0)
      problems.push(`${path} needs a name`);
  }
  return problems;
}

/**
 * Custom roles defined in `infra/`, by role name, mapped to the expression of their definition ID.
 * A role-definition template declares `variables.customRoles` ({"Role name": "[guid(...)]"}) and
 * names each `Microsoft.Authorization/roleDefinitions` resource `[variables('customRoles')['Role name']]`
 * with a roleName that contains the same name; templates that assign the role repeat the same entry.
 */
export function collectCustomRoles(templates: Record<string, JsonObject>): {
  roles: Record<string, string>;
  problems: string[];
} {
  const roles: Record<string, string> = {};
  const problems: string[] = [];
  for (const [file, template] of Object.entries(templates)) {
    const declared = objectAt(objectAt(template.variables).customRoles);
    for (const { path, resource } of resourcesOfType(template, ROLE_DEFINITION)) {
      const match =
        typeof resource.name === 'string'
          ? /^\[variables\('customRoles'\)\['([^']+)'\]\]$/.exec(resource.name)
          : null;
      const roleName = match?.[1];
      const idExpression = roleName === undefined ? undefined : declared[roleName];
      if (roleName === undefined || typeof idExpression !== 'string') {
        problems.push(
          `${file} ${path}: name a role definition [variables('customRoles')['<role name>']] with that entry in variables.customRoles`,
        );
        continue;
      }
      const displayName = objectAt(resource.properties).roleName;
      if (typeof displayName !== 'string' || !displayName.includes(roleName)) {
        problems.push(`${file} ${path}: properties.roleName must contain "${roleName}"`);
      }
      roles[roleName] = idExpression;
    }
  }
  return { roles, problems };
}

/**
 * Every role a template uses is what it claims to be. Built-in roles are claimed by name in
 * `variables.builtInRoles` ({"Storage Blob Data Reader": "<guid>"}), and the ID must be that role's ID
 * in `knownBuiltInRoles`; custom roles are claimed in `variables.customRoles` with the same ID expression
 * as their definition in `customRoles`. No GUID may appear anywhere else, and every role definition ID
 * is built from a claimed role. Privileged roles (Owner, Contributor, ...) are refused outright.
 */
export function checkRoleClaims(
  template: JsonObject,
  knownBuiltInRoles: Readonly<Record<string, string>>,
  customRoles: Readonly<Record<string, string>>,
  privilegedRoles: Readonly<Record<string, string>> = {},
): string[] {
  const problems: string[] = [];
  const variables = objectAt(template.variables);
  const builtIn = objectAt(variables.builtInRoles);
  const custom = objectAt(variables.customRoles);
  const privilegedIds = new Map(
    Object.entries(privilegedRoles).map(([name, id]) => [id.toLowerCase(), name]),
  );

  for (const [name, id] of Object.entries(builtIn)) {
    const known = knownBuiltInRoles[name];
    if (
      privilegedRoles[name] !== undefined ||
      (typeof id === 'string' && privilegedIds.has(id.toLowerCase()))
    ) {
      problems.push(`builtInRoles["${name}"] is a privileged role; kyvos-dr must not hold it`);
    } else if (known === undefined) {
      problems.push(
        `builtInRoles["${name}"] is not a confirmed built-in role; check its ID on the Azure built-in roles page and add it to test/infra/builtInRoles.ts`,
      );
    } else if (typeof id !== 'string' || id.toLowerCase() !== known) {
      problems.push(
        `builtInRoles["${name}"] is ${JSON.stringify(id)}, but the built-in role "${name}" is ${known}`,
      );
    }
  }
  for (const [name, expression] of Object.entries(custom)) {
    const defined = customRoles[name];
    if (defined === undefined) {
      problems.push(`customRoles["${name}"] is not defined by any role-definition template in infra/`);
    } else if (expression !== defined) {
      problems.push(
        `customRoles["${name}"] is ${JSON.stringify(expression)}, but its definition uses ${defined}`,
      );
    }
  }

  for (const { path, text } of walkStrings(template)) {
    if (!path.startsWith('$.variables.builtInRoles.')) {
      for (const guid of text.match(GUID) ?? []) {
        problems.push(
          `${path} contains the GUID ${guid}; claim roles by name in variables.builtInRoles instead`,
        );
      }
    }
    if (!isExpression(text)) continue;
    for (const match of text.matchAll(ROLE_CLAIM)) {
      const table = match[1]?.toLowerCase() === 'builtinroles' ? builtIn : custom;
      const name = match[2] ?? '';
      if (table[name] === undefined)
        problems.push(`${path} uses the role "${name}", which ${match[1]} does not declare`);
    }
  }

  for (const { path, resource } of resourcesOfType(template, ROLE_ASSIGNMENT)) {
    const roleDefinitionId = objectAt(resource.properties).roleDefinitionId;
    const claimed =
      typeof roleDefinitionId === 'string' &&
      ROLE_DEFINITION_ID.test(roleDefinitionId) &&
      /variables\s*\(\s*'(builtInRoles|customRoles)'\s*\)\s*\[/i.test(roleDefinitionId);
    if (!claimed) {
      problems.push(
        `${path}: roleDefinitionId must be subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('builtInRoles' or 'customRoles')['<role name>'])`,
      );
    }
  }
  return problems;
}

/**
 * Role assignments are idempotent and self-explaining: named with `guid(...)` over the scope, the
 * principal and the role definition (a redeploy finds the same assignment instead of failing with
 * RoleAssignmentExists), typed `ServicePrincipal` (no failed lookup while a new identity replicates),
 * and carrying a description of why kyvos-dr needs the role, which Azure shows next to the assignment.
 */
export function checkRoleAssignments(template: JsonObject): string[] {
  const problems: string[] = [];
  for (const { path, resource } of resourcesOfType(template, ROLE_ASSIGNMENT)) {
    const properties = objectAt(resource.properties);
    const name = typeof resource.name === 'string' ? resource.name : '';
    if (!name.startsWith('[guid(')) {
      problems.push(`${path}: name must be [guid(<scope id>, <principal>, <role definition id>)]`);
    }
    const roleDefinitionId = properties.roleDefinitionId;
    if (typeof roleDefinitionId === 'string' && isExpression(roleDefinitionId)) {
      if (!name.includes(roleDefinitionId.slice(1, -1))) {
        problems.push(`${path}: the guid() of the name must include the role definition ID expression`);
      }
    }
    const principalId = properties.principalId;
    if (typeof principalId !== 'string' || principalId.length === 0) {
      problems.push(`${path}: properties.principalId is required`);
    } else if (isExpression(principalId) && !/\breference\s*\(/i.test(principalId)) {
      // A principalId known when the deployment starts (a parameter) must be part of the name;
      // one read with reference() cannot be, and the identity's resource ID stands in for it.
      if (!name.includes(principalId.slice(1, -1))) {
        problems.push(`${path}: the guid() of the name must include the principalId expression`);
      }
    }
    if (properties.principalType !== 'ServicePrincipal') {
      problems.push(`${path}: properties.principalType must be "ServicePrincipal" for a managed identity`);
    }
    if (typeof properties.description !== 'string' || properties.description.trim().length === 0) {
      problems.push(`${path}: properties.description must say why kyvos-dr needs this role`);
    }
  }
  return problems;
}

/**
 * Custom roles stay narrow: literal action lists without wildcards, no delete, no authorization
 * writes, no data actions, and assignable only in named resource groups (never the whole subscription).
 */
export function checkCustomRoleDefinitions(template: JsonObject): string[] {
  const problems: string[] = [];
  for (const { path, resource } of resourcesOfType(template, ROLE_DEFINITION)) {
    const properties = objectAt(resource.properties);
    const permissions = Array.isArray(properties.permissions) ? properties.permissions : [];
    if (permissions.length === 0)
      problems.push(`${path}: properties.permissions must list the allowed actions`);
    for (const [index, permission] of permissions.entries()) {
      const entry = objectAt(permission);
      const actions = entry.actions;
      if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string')) {
        problems.push(`${path}.permissions[${index}]: actions must be a literal, non-empty list of strings`);
        continue;
      }
      for (const action of actions as string[]) {
        if (action.includes('*'))
          problems.push(`${path}: action "${action}" is a wildcard; list the actions`);
        if (/\/delete$/i.test(action))
          problems.push(`${path}: action "${action}" deletes; kyvos-dr never deletes`);
        if (/^Microsoft\.Authorization\//i.test(action) && !/\/read$/i.test(action)) {
          problems.push(`${path}: action "${action}" changes access control`);
        }
      }
      if (Array.isArray(entry.dataActions) && entry.dataActions.length > 0) {
        problems.push(`${path}: dataActions must be empty; data access comes from built-in data roles`);
      }
    }
    const scopes = properties.assignableScopes;
    if (!Array.isArray(scopes) || scopes.length === 0) {
      problems.push(`${path}: assignableScopes must list the resource groups the role may be assigned in`);
    } else {
      for (const scope of scopes) {
        if (typeof scope !== 'string' || !/resourceGroups/i.test(scope)) {
          problems.push(`${path}: assignable scope ${JSON.stringify(scope)} is wider than a resource group`);
        }
      }
    }
  }
  return problems;
}

/** Text that looks like a storage account key, a SAS or a connection string with a key. */
export function checkNoSecretLiterals(value: Json | undefined, where = '$'): string[] {
  const problems: string[] = [];
  for (const { path, text } of walkStrings(value, where)) {
    if (ACCOUNT_KEY.test(text)) problems.push(`${path} contains what looks like a storage account key`);
    for (const marker of SECRET_MARKERS) {
      if (marker.test(text)) problems.push(`${path} contains "${marker.source}", which looks like a secret`);
    }
  }
  return problems;
}

/**
 * No secret can come from a default: a parameter whose name suggests a secret has no default value,
 * secure parameters have no default, and no default anywhere looks like a key or a SAS.
 */
export function checkNoSecretDefaults(template: JsonObject): string[] {
  const problems: string[] = [];
  for (const [name, definition] of Object.entries(objectAt(template.parameters))) {
    const parameter = objectAt(definition);
    const type = typeof parameter.type === 'string' ? parameter.type.toLowerCase() : '';
    const hasDefault = 'defaultValue' in parameter;
    // A default ARM generates at each deployment writes no secret into the template.
    const generated =
      typeof parameter.defaultValue === 'string' && GENERATED_DEFAULT.test(parameter.defaultValue);
    if (generated) continue;
    if (hasDefault && (type === 'securestring' || type === 'secureobject')) {
      problems.push(`parameter '${name}' is ${parameter.type} and must not have a defaultValue`);
    } else if (hasDefault && type === 'string' && SECRET_PARAMETER_NAME.test(name)) {
      problems.push(
        `parameter '${name}' sounds like a secret and must not have a defaultValue (rename it if it is not a secret)`,
      );
    }
    if (hasDefault)
      problems.push(...checkNoSecretLiterals(parameter.defaultValue, `$.parameters.${name}.defaultValue`));
  }
  return problems;
}

/**
 * The Kyvos data account in the DR region keeps what Kyvos requires (ADLS Gen2) and what the
 * project requires of every account: StorageV2, HTTPS only, TLS 1.2, no anonymous blob access.
 */
export function checkDrStorageAccount(template: JsonObject): string[] {
  const accounts = resourcesOfType(template, 'microsoft.storage/storageaccounts');
  if (accounts.length !== 1) return [`expected exactly one storage account, found ${accounts.length}`];
  const [{ path, resource }] = accounts as [{ path: string; resource: JsonObject }];
  const properties = objectAt(resource.properties);
  const required: [string, Json | undefined, Json][] = [
    ['kind', resource.kind, 'StorageV2'],
    ['properties.isHnsEnabled', properties.isHnsEnabled, true],
    ['properties.minimumTlsVersion', properties.minimumTlsVersion, 'TLS1_2'],
    ['properties.supportsHttpsTrafficOnly', properties.supportsHttpsTrafficOnly, true],
    ['properties.allowBlobPublicAccess', properties.allowBlobPublicAccess, false],
  ];
  return required
    .filter(([, actual, expected]) => actual !== expected)
    .map(
      ([name, actual, expected]) =>
        `${path}.${name} is ${JSON.stringify(actual)}; it must be ${JSON.stringify(expected)}`,
    );
}

function parameterTypeMatches(type: string, value: Json): boolean {
  switch (type.toLowerCase()) {
    case 'string':
    case 'securestring':
      return typeof value === 'string';
    case 'int':
      return typeof value === 'number' && Number.isInteger(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
    case 'secureobject':
      return isObject(value);
    default:
      return false;
  }
}

/**
 * A parameter file fits its template: the deploymentParameters schema, only parameters the template
 * declares, every required parameter (no defaultValue) given, values of the declared type and within
 * allowedValues.
 */
export function checkParameterFile(template: JsonObject, parameterFile: JsonObject): string[] {
  const problems: string[] = [];
  if (parameterFile.$schema !== PARAMETERS_SCHEMA) problems.push(`$schema must be ${PARAMETERS_SCHEMA}`);
  if (typeof parameterFile.contentVersion !== 'string') problems.push('contentVersion is required');
  const declared = objectAt(template.parameters);
  const given = objectAt(parameterFile.parameters);
  for (const [name, entry] of Object.entries(given)) {
    const definition = declared[name];
    if (!isObject(definition)) {
      problems.push(`parameter '${name}' is not declared by the template`);
      continue;
    }
    const value = objectAt(entry).value;
    if (value === undefined) {
      problems.push(`parameter '${name}' needs a "value" (Key Vault references are not used in examples)`);
      continue;
    }
    if (typeof definition.type === 'string' && !parameterTypeMatches(definition.type, value)) {
      problems.push(`parameter '${name}' is ${JSON.stringify(value)}, not a ${definition.type}`);
    }
    const allowed = definition.allowedValues;
    if (
      Array.isArray(allowed) &&
      !allowed.some((option) => JSON.stringify(option) === JSON.stringify(value))
    ) {
      problems.push(`parameter '${name}' is ${JSON.stringify(value)}, not one of ${JSON.stringify(allowed)}`);
    }
  }
  for (const [name, definition] of Object.entries(declared)) {
    if (isObject(definition) && !('defaultValue' in definition) && !(name in given)) {
      problems.push(`required parameter '${name}' (no defaultValue) is missing`);
    }
  }
  return problems;
}

/**
 * Example parameter files describe one deployment: a parameter that appears in several of them (the
 * Key Vault name, the identity's principalId, the region) has the same value in each.
 */
export function checkSharedParameterValues(parameterFiles: Record<string, JsonObject>): string[] {
  const seen = new Map<string, { file: string; value: string }>();
  const problems: string[] = [];
  for (const [file, parameterFile] of Object.entries(parameterFiles)) {
    for (const [name, entry] of Object.entries(objectAt(parameterFile.parameters))) {
      const value = JSON.stringify(objectAt(entry).value);
      const first = seen.get(name);
      if (first === undefined) seen.set(name, { file, value });
      else if (first.value !== value) {
        problems.push(`parameter '${name}' is ${value} in ${file} but ${first.value} in ${first.file}`);
      }
    }
  }
  return problems;
}

/**
 * The action group's webhook uses a key of the alert function only: the template has a
 * `Microsoft.Web/sites/functions/keys` resource of `functionName` whose value is a securestring
 * parameter, every webhook receiver calls `/api/failover/alert?code=` with that parameter and the
 * common alert schema, and nothing in the template reads or names a host-level key (the default key
 * opens every function, a forced failover included).
 */
export function checkAlertWebhook(template: JsonObject, functionName: string): string[] {
  const problems: string[] = [];
  const variables = objectAt(template.variables);
  const parameters = objectAt(template.parameters);
  const keys = resourcesOfType(template, 'microsoft.web/sites/functions/keys');
  if (keys.length !== 1)
    problems.push(`needs exactly one Microsoft.Web/sites/functions/keys resource, has ${keys.length}`);
  let keyParameter: string | undefined;
  for (const { path, resource } of keys) {
    const name = String(resource.name ?? '');
    const variable = /variables\('(\w+)'\)/.exec(name.split(',')[2] ?? '')?.[1];
    const named = variable !== undefined ? variables[variable] : undefined;
    const literal = name.includes(`/${functionName}/`) || name.includes(`'${functionName}'`);
    if (named !== functionName && !literal) {
      problems.push(
        `${path}.name must name the function ${functionName} (second segment), as variables('…') or a literal`,
      );
    }
    keyParameter = /^\[parameters\('(\w+)'\)\]$/.exec(String(resource.value ?? ''))?.[1];
    if (keyParameter === undefined || objectAt(parameters[keyParameter]).type !== 'securestring') {
      problems.push(`${path}.value must be [parameters('…')] of a securestring parameter`);
    }
  }
  const groups = resourcesOfType(template, 'microsoft.insights/actiongroups');
  if (groups.length === 0) problems.push('needs a Microsoft.Insights/actionGroups resource');
  for (const { path, resource } of groups) {
    const receivers = objectAt(resource.properties).webhookReceivers;
    if (!Array.isArray(receivers) || receivers.length === 0) problems.push(`${path} has no webhookReceivers`);
    for (const [index, receiver] of (Array.isArray(receivers) ? receivers : []).entries()) {
      const at = `${path}.properties.webhookReceivers[${index}]`;
      const uri = String(objectAt(receiver).serviceUri ?? '');
      if (!uri.includes('/api/failover/alert?code='))
        problems.push(`${at}.serviceUri must call /api/failover/alert?code=`);
      if (keyParameter === undefined || !uri.includes(`parameters('${keyParameter}')`)) {
        problems.push(`${at}.serviceUri must pass the function key parameter as code`);
      }
      if (objectAt(receiver).useCommonAlertSchema !== true)
        problems.push(`${at}.useCommonAlertSchema must be true`);
    }
  }
  for (const { path, text } of walkStrings(template.resources, '$.resources')) {
    for (const marker of HOST_KEY_MARKERS) {
      if (marker.test(text))
        problems.push(`${path} uses a host-level key (${marker.source}); use the function's own key`);
    }
  }
  return problems;
}
