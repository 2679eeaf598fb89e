import { createHash, randomUUID } from 'node:crypto';

/**
 * A small evaluator of ARM template expressions (`[func(arg, …).prop['key']]`), enough to read the
 * role assignments and role definitions that `infra/` deploys: literals, `parameters`, `variables`,
 * the string, logical, array and resource-ID functions those templates use, property access and
 * indexing. Syntax and function semantics follow "Template functions" and "Syntax and expressions
 * in ARM templates" (learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions,
 * template-functions-*). A function it does not know is an error naming the function, never a guess.
 */

export type TemplateValue =
  | string
  | number
  | boolean
  | null
  | TemplateValue[]
  | { [key: string]: TemplateValue };

/** Where a template is deployed, and the values it cannot compute itself. */
export interface DeploymentContext {
  subscriptionId: string;
  tenantId: string;
  /** Resource group of a resource-group deployment; undefined for a subscription deployment. */
  resourceGroup?: string;
  location: string;
  parameters: Record<string, TemplateValue>;
  /** What `reference(resourceId, …)` answers, by resource ID (case-insensitive). */
  references?: Record<string, { [key: string]: TemplateValue }>;
  /** What `reference()` answers for a resource ID that `references` does not hold. */
  resolveReference?(resourceId: string): { [key: string]: TemplateValue } | undefined;
  /** `deployment().name`; ARM names a deployment after its template file unless told otherwise. */
  deploymentName?: string;
}

export class TemplateExpressionError extends Error {
  override readonly name = 'TemplateExpressionError';
}

/** A template being evaluated: its parameters (with defaults applied) and variables, lazily. */
export class TemplateScope {
  private readonly variableCache = new Map<string, TemplateValue>();
  private readonly parameterValues: Record<string, TemplateValue>;

  constructor(
    private readonly template: { parameters?: unknown; variables?: unknown },
    readonly context: DeploymentContext,
    /** The current `copyIndex()`, while evaluating one instance of a copy loop. */
    readonly copyIndex?: number,
  ) {
    this.parameterValues = { ...context.parameters };
  }

  withCopyIndex(index: number): TemplateScope {
    return new TemplateScope(this.template, this.context, index);
  }

  parameter(name: string): TemplateValue {
    if (name in this.parameterValues) return this.parameterValues[name] as TemplateValue;
    const declared = (
      this.template.parameters as Record<string, { defaultValue?: TemplateValue }> | undefined
    )?.[name];
    if (!declared) throw new TemplateExpressionError(`parameters('${name}') is not declared`);
    if (declared.defaultValue === undefined) {
      throw new TemplateExpressionError(`parameter '${name}' has no value and no defaultValue`);
    }
    const value = this.evaluate(declared.defaultValue);
    this.parameterValues[name] = value;
    return value;
  }

  variable(name: string): TemplateValue {
    const cached = this.variableCache.get(name);
    if (cached !== undefined) return cached;
    const variables = this.template.variables as Record<string, TemplateValue> | undefined;
    if (!variables || !(name in variables))
      throw new TemplateExpressionError(`variables('${name}') is not declared`);
    const value = this.evaluate(variables[name] as TemplateValue);
    this.variableCache.set(name, value);
    return value;
  }

  /** Evaluates a JSON value: expressions in strings (and nested in objects and arrays) are evaluated. */
  evaluate(value: TemplateValue): TemplateValue {
    if (typeof value === 'string') return this.evaluateString(value);
    if (Array.isArray(value)) return value.map((item) => this.evaluate(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.evaluate(item)]));
    }
    return value;
  }

  private evaluateString(text: string): TemplateValue {
    // "[[" escapes a literal that starts with "[" (template-expressions: "Escape characters").
    if (text.startsWith('[[')) return text.slice(1);
    if (!(text.startsWith('[') && text.endsWith(']'))) return text;
    const parser = new Parser(text.slice(1, -1), this);
    const result = parser.expression();
    parser.end();
    return result;
  }
}

const RESOURCE_GROUP_SCOPE = (context: DeploymentContext) => {
  if (!context.resourceGroup)
    throw new TemplateExpressionError('resourceGroup() is not available in a subscription deployment');
  return `/subscriptions/${context.subscriptionId}/resourceGroups/${context.resourceGroup}`;
};

/** `Microsoft.X/a/b` + names → `providers/Microsoft.X/a/{n1}/b/{n2}` (resourceId, template-functions-resource). */
function resourcePath(type: string, names: string[]): string {
  const [namespace, ...types] = type.split('/');
  if (!namespace || types.length === 0 || types.length !== names.length) {
    throw new TemplateExpressionError(
      `resource type '${type}' needs ${types.length} name(s), got ${names.length}`,
    );
  }
  return `providers/${namespace}/${types.map((t, i) => `${t}/${names[i]}`).join('/')}`;
}

/**
 * A deterministic name-based UUID (version 5 layout) over the arguments joined with '-', as ARM's
 * `guid()` is deterministic ("template-functions-string", guid: "the returned value is a hash of the
 * parameters"). The exact bytes differ from ARM's; nothing here depends on them, since the role
 * definition IDs are only compared between templates evaluated by this same function.
 */
function templateGuid(...args: string[]): string {
  const namespace = Buffer.from('11fb06fb712d4ddd98c7e71bbd588830', 'hex');
  const hash = createHash('sha1')
    .update(namespace)
    .update(Buffer.from(args.join('-'), 'utf8'))
    .digest();
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function asString(value: TemplateValue, what: string): string {
  if (typeof value !== 'string')
    throw new TemplateExpressionError(`${what} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

type TemplateFunction = (args: TemplateValue[], scope: TemplateScope) => TemplateValue;

const FUNCTIONS: Record<string, TemplateFunction> = {
  parameters: ([name], scope) => scope.parameter(asString(name ?? null, 'parameters()')),
  variables: ([name], scope) => scope.variable(asString(name ?? null, 'variables()')),
  copyindex: ([offset], scope) => {
    if (scope.copyIndex === undefined) throw new TemplateExpressionError('copyIndex() outside a copy loop');
    return scope.copyIndex + (typeof offset === 'number' ? offset : 0);
  },
  format: ([pattern, ...args]) =>
    asString(pattern ?? null, 'format()').replace(/\{(\d+)\}/g, (_, i: string) =>
      String(args[Number(i)] ?? ''),
    ),
  concat: (args) =>
    args.every(Array.isArray) ? (args as TemplateValue[][]).flat() : args.map((a) => String(a)).join(''),
  equals: ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
  and: (args) => args.every((a) => a === true),
  or: (args) => args.some((a) => a === true),
  not: ([a]) => a !== true,
  if: ([condition, whenTrue, whenFalse]) => (condition === true ? (whenTrue ?? null) : (whenFalse ?? null)),
  true: () => true,
  false: () => false,
  length: ([a]) => (Array.isArray(a) || typeof a === 'string' ? a.length : Object.keys(a ?? {}).length),
  tolower: ([a]) => asString(a ?? null, 'toLower()').toLowerCase(),
  take: ([a, n]) => (Array.isArray(a) || typeof a === 'string' ? a.slice(0, Number(n)) : (a ?? null)),
  // A deterministic 13-character hash, as ARM's uniqueString (template-functions-string).
  uniquestring: (args) =>
    createHash('sha256')
      .update(args.map(String).join('|'))
      .digest('base64')
      .replace(/[^a-z0-9]/gi, '')
      .toLowerCase()
      .slice(0, 13),
  guid: (args) => templateGuid(...args.map((a) => asString(a, 'guid() argument'))),
  subscription: (_args, scope) => ({
    id: `/subscriptions/${scope.context.subscriptionId}`,
    subscriptionId: scope.context.subscriptionId,
    tenantId: scope.context.tenantId,
  }),
  resourcegroup: (_args, scope) => ({
    id: RESOURCE_GROUP_SCOPE(scope.context),
    name: scope.context.resourceGroup ?? '',
    location: scope.context.location,
  }),
  environment: () => ({
    name: 'AzureCloud',
    suffixes: { keyvaultDns: '.vault.azure.net', storage: 'core.windows.net' },
  }),
  subscriptionresourceid: ([type, ...names], scope) =>
    `/subscriptions/${scope.context.subscriptionId}/${resourcePath(asString(type ?? null, 'resource type'), names.map(String))}`,
  // resourceId([subscriptionId], [resourceGroupName], resourceType, names…): the resource type is the
  // first argument with a '/', since neither a subscription ID nor a resource group name holds one.
  resourceid: (args, scope) => {
    const typeAt = args.findIndex((a) => typeof a === 'string' && a.includes('/'));
    if (typeAt < 0 || typeAt > 2)
      throw new TemplateExpressionError(`resourceId() needs a resource type, got ${JSON.stringify(args)}`);
    const [subscriptionId, resourceGroup] =
      typeAt === 2 ? args.map(String) : [scope.context.subscriptionId, String(args[0])];
    const group =
      typeAt === 0
        ? RESOURCE_GROUP_SCOPE(scope.context)
        : `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
    const [type, ...names] = args.slice(typeAt);
    return `${group}/${resourcePath(asString(type ?? null, 'resource type'), names.map(String))}`;
  },
  extensionresourceid: ([base, type, ...names]) =>
    `${asString(base ?? null, 'resource ID')}/${resourcePath(asString(type ?? null, 'resource type'), names.map(String))}`,
  reference: ([id], scope) => {
    const resourceId = asString(id ?? null, 'reference()');
    const wanted = resourceId.toLowerCase();
    const found =
      Object.entries(scope.context.references ?? {}).find(([key]) => key.toLowerCase() === wanted)?.[1] ??
      scope.context.resolveReference?.(resourceId);
    if (!found) throw new TemplateExpressionError(`reference('${wanted}') is not known to this evaluation`);
    return found;
  },
  deployment: (_args, scope) => ({ name: scope.context.deploymentName ?? 'deployment' }),
  // newGuid() is allowed only in a parameter's defaultValue and differs at each deployment.
  newguid: () => randomUUID(),
  empty: ([a]) =>
    a === null ||
    a === undefined ||
    (typeof a === 'object' ? Object.keys(a).length === 0 : String(a).length === 0),
  div: ([a, b]) => Math.trunc(Number(a) / Number(b)),
  json: ([text]) => JSON.parse(asString(text ?? null, 'json()')) as TemplateValue,
  // union of objects: later objects' properties win (template-functions-object, union).
  union: (args) =>
    args.every(Array.isArray)
      ? [...new Set((args as TemplateValue[][]).flat().map((v) => JSON.stringify(v)))].map(
          (v) => JSON.parse(v) as TemplateValue,
        )
      : Object.assign({}, ...args.map((a) => (a !== null && typeof a === 'object' ? a : {}))),
};

/** Recursive-descent parser of one expression (the text between the outer brackets). */
class Parser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly scope: TemplateScope,
  ) {}

  expression(): TemplateValue {
    this.skipSpace();
    let value = this.primary();
    for (;;) {
      this.skipSpace();
      const next = this.text[this.position];
      if (next === '.') {
        this.position += 1;
        value = this.member(value, this.identifier());
      } else if (next === '[') {
        this.position += 1;
        const key = this.expression();
        this.expect(']');
        value = this.member(value, key);
      } else {
        return value;
      }
    }
  }

  end(): void {
    this.skipSpace();
    if (this.position !== this.text.length) {
      throw new TemplateExpressionError(`unexpected '${this.text.slice(this.position)}' in [${this.text}]`);
    }
  }

  private primary(): TemplateValue {
    const c = this.text[this.position];
    if (c === "'") return this.stringLiteral();
    if (c !== undefined && /[-\d]/.test(c)) {
      const match = /^-?\d+/.exec(this.text.slice(this.position));
      if (!match) throw new TemplateExpressionError(`bad number in [${this.text}]`);
      this.position += match[0].length;
      return Number(match[0]);
    }
    const name = this.identifier();
    this.skipSpace();
    this.expect('(');
    const args: TemplateValue[] = [];
    this.skipSpace();
    if (this.text[this.position] !== ')') {
      for (;;) {
        args.push(this.expression());
        this.skipSpace();
        if (this.text[this.position] === ',') {
          this.position += 1;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    const fn = FUNCTIONS[name.toLowerCase()];
    if (!fn)
      throw new TemplateExpressionError(`the template function ${name}() is not supported by this evaluator`);
    return fn(args, this.scope);
  }

  private member(value: TemplateValue, key: TemplateValue): TemplateValue {
    if (Array.isArray(value) && typeof key === 'number') return value[key] ?? null;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof key === 'string') {
      const found = Object.keys(value).find((k) => k.toLowerCase() === key.toLowerCase());
      if (found !== undefined) return value[found] as TemplateValue;
    }
    throw new TemplateExpressionError(`${JSON.stringify(value)} has no member ${JSON.stringify(key)}`);
  }

  private stringLiteral(): string {
    let result = '';
    this.position += 1;
    for (;;) {
      const c = this.text[this.position];
      if (c === undefined) throw new TemplateExpressionError(`unterminated string in [${this.text}]`);
      this.position += 1;
      if (c === "'") {
        if (this.text[this.position] === "'") {
          result += "'";
          this.position += 1;
          continue;
        }
        return result;
      }
      result += c;
    }
  }

  private identifier(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.position));
    if (!match)
      throw new TemplateExpressionError(
        `expected a name at '${this.text.slice(this.position)}' in [${this.text}]`,
      );
    this.position += match[0].length;
    return match[0];
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.position] !== c) {
      throw new TemplateExpressionError(
        `expected '${c}' at '${this.text.slice(this.position)}' in [${this.text}]`,
      );
    }
    this.position += 1;
  }

  private skipSpace(): void {
    while (this.text[this.position] === ' ') this.position += 1;
  }
}
