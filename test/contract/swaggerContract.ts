import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Azure's own REST specifications (Swagger 2.0, vendored under `specs/`) turned into JSON Schema
 * for ajv, and a check of an HTTP exchange against the operation the spec declares for it.
 *
 * What is checked for a response:
 * - its status code is one the operation lists (errors, 4xx/5xx, are allowed for every operation,
 *   as ARM's RPC says any request can fail, and are checked against the operation's `default`
 *   error schema, or the service's error schema when the operation has none);
 * - its body validates against the schema of that status (types, formats, enums, required
 *   properties, `allOf`, `x-nullable`, discriminated subtypes);
 * - a 2xx status whose spec response has no schema has no body;
 * - every property of the body is declared by the spec (Swagger objects allow undeclared
 *   properties, so this is a separate check: a property Azure does not define is a made-up one).
 *
 * A `$ref` to a definition that was not vendored validates nothing but fails whatever value sits
 * there, naming the reference: the emulator must not answer what the vendored spec cannot check.
 */

const SPECS_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'specs');
const BASE = 'https://specs.invalid/';

/**
 * References rewritten before they are resolved, each with its reason. Only what the vendored
 * files need.
 */
const REF_REMAPS: Array<{ from: string; to: string; why: string }> = [
  {
    // Storage 2025-08-01 builds its resources on common-types v1; v6's `TrackedResource`,
    // `AzureEntityResource` and `Resource` declare the same `id`, `name`, `type`, `location`, `tags`
    // and `etag`, plus the optional `systemData` that ARM adds to every resource since.
    from: `${BASE}common-types/resource-management/v1/types.json`,
    to: `${BASE}common-types/resource-management/v6/types.json`,
    why: 'common-types v1 resource bases are read from v6',
  },
  {
    // PostgreSQL's VirtualEndpoints.json 2025-08-01 builds on common-types v5; v6's `Resource`
    // (`id`, `name`, `type`, `systemData`) and `ErrorResponse` (`error`: `ErrorDetail`) declare the
    // same properties as v5's.
    from: `${BASE}common-types/resource-management/v5/types.json`,
    to: `${BASE}common-types/resource-management/v6/types.json`,
    why: 'common-types v5 resource bases and errors are read from v6',
  },
  {
    // The Authorization API 2022-04-01 (permissions) takes its error envelope from common-types v2;
    // v6's `ErrorResponse` (`error`: `ErrorDetail` with `code`, `message`, `target`, `details`,
    // `additionalInfo`) declares the same properties as v2's.
    from: `${BASE}common-types/resource-management/v2/types.json`,
    to: `${BASE}common-types/resource-management/v6/types.json`,
    why: 'common-types v2 errors are read from v6',
  },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type SwaggerNode = { [key: string]: Json };

/** One finding about an exchange. `where` is a JSON path into the body, or the status. */
export interface Violation {
  kind: 'status' | 'schema' | 'undeclared-property' | 'unexpected-body';
  where: string;
  message: string;
}

/** An operation of a vendored spec file. */
export interface SpecOperation {
  file: string;
  path: string;
  method: string;
  operationId: string;
  responses: Record<string, { schema?: SwaggerNode; headers?: Record<string, unknown> } | undefined>;
  /** Absolute URI of the operation (`<file>#/paths/...`), the base of its inline schemas. */
  base: string;
}

/** A schema reference the caller names directly (an ARM-wide shape such as the async-operation status). */
export interface SchemaRef {
  file: string;
  definition: string;
}

export interface SwaggerContractOptions {
  /** Error schema for operations that declare no `default` response, by spec file prefix. */
  fallbackErrors: Array<{ filePrefix: string; schema: SchemaRef }>;
}

export class SwaggerContract {
  private readonly documents = new Map<string, SwaggerNode>();
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  private constructor(
    files: Map<string, SwaggerNode>,
    private readonly options: SwaggerContractOptions,
  ) {
    for (const [file, document] of files) this.documents.set(`${BASE}${file}`, document);
    this.ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, validateFormats: true });
    addFormats(this.ajv);
    addSwaggerFormats(this.ajv);
    this.ajv.addKeyword({
      keyword: 'x-unvendored',
      schemaType: 'string',
      errors: true,
      validate: function unvendored(target: string) {
        (unvendored as unknown as { errors: Partial<ErrorObject>[] }).errors = [
          { keyword: 'x-unvendored', message: `is declared by ${target}, which is not vendored`, params: {} },
        ];
        return false;
      },
    });
    for (const [uri, document] of this.documents) {
      this.ajv.addSchema({ $id: uri, definitions: this.convertDefinitions(document, uri) });
    }
  }

  /** Loads every `.json` file under `root` (default: the vendored specs). */
  static load(options: SwaggerContractOptions, root = SPECS_ROOT): SwaggerContract {
    const files = new Map<string, SwaggerNode>();
    for (const file of listJsonFiles(root)) {
      files.set(file, JSON.parse(readFileSync(path.join(root, file), 'utf8')) as SwaggerNode);
    }
    return new SwaggerContract(files, options);
  }

  /** Builds a contract from in-memory documents (file name → Swagger document). */
  static fromDocuments(documents: Record<string, object>, options: SwaggerContractOptions): SwaggerContract {
    return new SwaggerContract(new Map(Object.entries(documents) as Array<[string, SwaggerNode]>), options);
  }

  /**
   * The operation whose path template matches `urlPath` (no query) for `method`, among the files
   * whose name starts with `filePrefix`. Literal segments match case-insensitively, as ARM's do;
   * a `{parameter}` segment matches any one segment, including an empty one (`/secrets/{name}/`),
   * and a parameter that holds a path (`x-ms-skip-url-encoding`, as `parentResourcePath`) any number
   * of segments, none included.
   */
  findOperation(filePrefix: string, method: string, urlPath: string): SpecOperation | undefined {
    const segments = splitPath(urlPath);
    for (const [uri, document] of this.documents) {
      const file = uri.slice(BASE.length);
      if (!file.startsWith(filePrefix)) continue;
      const paths = (document.paths ?? {}) as Record<string, Record<string, SwaggerNode>>;
      for (const [template, item] of Object.entries(paths)) {
        const operation = item[method.toLowerCase()];
        if (!operation || !templateMatches(splitPath(template), segments, pathValuedParameters(operation))) {
          continue;
        }
        return {
          file,
          path: template,
          method: method.toUpperCase(),
          operationId: String(operation.operationId),
          responses: operation.responses as SpecOperation['responses'],
          base: `${uri}#/paths/${escapePointer(template)}/${method.toLowerCase()}`,
        };
      }
    }
    return undefined;
  }

  /**
   * Checks a response of `operation`. `statusOverride` replaces the spec's list of statuses for
   * a poll of a long-running operation, whose URL is not in the spec.
   */
  checkResponse(
    operation: SpecOperation,
    status: number,
    bodyText: string,
    options: { successSchemaOf?: number; allowedSuccess?: number[] } = {},
  ): Violation[] {
    const listed = Object.keys(operation.responses).filter((code) => code !== 'default');
    const allowed = options.allowedSuccess ?? listed.map(Number);
    const violations: Violation[] = [];
    let schema: SwaggerNode | undefined;
    let base = operation.base;
    if (status >= 400) {
      schema = operation.responses.default?.schema;
      if (!schema) {
        const fallback = this.options.fallbackErrors.find((f) => operation.file.startsWith(f.filePrefix));
        if (fallback) {
          schema = { $ref: `${fallback.schema.file}#/definitions/${fallback.schema.definition}` };
          base = BASE;
        }
      }
    } else if (!allowed.includes(status)) {
      violations.push({
        kind: 'status',
        where: String(status),
        message: `${operation.operationId} (${operation.file}) lists ${listed.join(', ')}, not ${status}`,
      });
      return violations;
    } else {
      schema = operation.responses[String(options.successSchemaOf ?? status)]?.schema;
    }
    const body = parseBody(bodyText);
    if (!schema) {
      if (body !== undefined && status < 400) {
        violations.push({
          kind: 'unexpected-body',
          where: '$',
          message: `${operation.operationId} declares no body for ${status}, got ${bodyText.slice(0, 200)}`,
        });
      }
      return violations;
    }
    const converted = this.convert(schema, base);
    return [...violations, ...this.validate(converted, body, schema, base)];
  }

  /** Checks `bodyText` against a named definition (an ARM-wide shape, not tied to one operation). */
  checkAgainst(ref: SchemaRef, bodyText: string): Violation[] {
    const schema: SwaggerNode = { $ref: `${ref.file}#/definitions/${ref.definition}` };
    return this.validate(this.convert(schema, BASE), parseBody(bodyText), schema, BASE);
  }

  private validate(
    converted: object,
    body: Json | undefined,
    schema: SwaggerNode,
    base: string,
  ): Violation[] {
    if (body === undefined) {
      return [{ kind: 'schema', where: '$', message: 'the spec declares a body; the response has none' }];
    }
    const key = JSON.stringify(converted);
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(converted);
      this.compiled.set(key, validate);
    }
    const violations: Violation[] = [];
    if (!validate(body)) {
      for (const error of validate.errors ?? []) {
        violations.push({
          kind: 'schema',
          where: `$${error.instancePath.replaceAll('/', '.')}`,
          message: `${error.message ?? error.keyword}${describeParams(error)}`,
        });
      }
    }
    this.undeclared(body, schema, base, '$', violations, new Set());
    return violations;
  }

  /** Every property of `value` that no schema on its path declares. */
  private undeclared(
    value: Json,
    node: SwaggerNode,
    base: string,
    where: string,
    out: Violation[],
    seen: Set<string>,
  ): void {
    const resolved = this.follow(node, base);
    if (!resolved) return;
    if (Array.isArray(value)) {
      const items = resolved.node.items as SwaggerNode | undefined;
      if (items) {
        for (const [i, item] of value.entries()) {
          this.undeclared(item, items, resolved.base, `${where}[${i}]`, out, seen);
        }
      }
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const shape = this.shapeOf(resolved.node, resolved.base, value, new Set());
    if (shape.properties.size === 0 && shape.additional === undefined) return; // a free-form object
    for (const [name, child] of Object.entries(value)) {
      const declared = shape.properties.get(name) ?? shape.additional;
      const at = `${where}.${name}`;
      if (declared === true) continue;
      if (!declared) {
        out.push({ kind: 'undeclared-property', where: at, message: 'is not declared by the spec' });
        continue;
      }
      this.undeclared(child, declared.node, declared.base, at, out, seen);
    }
  }

  /** The declared properties of an object schema, through `allOf` and a discriminated subtype. */
  private shapeOf(
    node: SwaggerNode,
    base: string,
    value: { [key: string]: Json },
    visiting: Set<string>,
  ): {
    properties: Map<string, { node: SwaggerNode; base: string }>;
    additional?: true | { node: SwaggerNode; base: string };
  } {
    const properties = new Map<string, { node: SwaggerNode; base: string }>();
    let additional: true | { node: SwaggerNode; base: string } | undefined;
    const visit = (raw: SwaggerNode, rawBase: string) => {
      const resolved = this.follow(raw, rawBase);
      if (!resolved) return;
      const key = `${resolved.base}|${JSON.stringify(raw)}`;
      if (visiting.has(key)) return;
      visiting.add(key);
      const { node: n, base: b } = resolved;
      for (const [name, prop] of Object.entries((n.properties ?? {}) as Record<string, SwaggerNode>)) {
        properties.set(name, { node: prop, base: b });
      }
      if (n.additionalProperties === true) additional = true;
      else if (n.additionalProperties && typeof n.additionalProperties === 'object') {
        additional = { node: n.additionalProperties as SwaggerNode, base: b };
      }
      for (const part of (n.allOf ?? []) as SwaggerNode[]) visit(part, b);
      const discriminator = typeof n.discriminator === 'string' ? n.discriminator : undefined;
      const tag = discriminator ? value[discriminator] : undefined;
      if (discriminator && typeof tag === 'string') {
        const child = this.subtypes(this.uriOf(n) ?? '').find((s) => s.value === tag);
        if (child) visit({ $ref: child.ref }, BASE);
      }
    };
    visit(node, base);
    return additional === undefined ? { properties } : { properties, additional };
  }

  /** Follows `$ref`s to a schema node; undefined for a reference that was not vendored. */
  private follow(node: SwaggerNode, base: string): { node: SwaggerNode; base: string } | undefined {
    let current = { node, base };
    for (let hops = 0; typeof current.node.$ref === 'string'; hops++) {
      if (hops > 50) throw new Error(`$ref loop at ${current.node.$ref}`);
      const target = this.resolve(current.node.$ref as string, current.base);
      const found = this.lookup(target);
      if (!found) return undefined;
      current = { node: found, base: target };
    }
    return current;
  }

  private resolve(ref: string, base: string): string {
    let absolute = new URL(ref, base).href;
    for (const remap of REF_REMAPS) {
      if (absolute.startsWith(`${remap.from}#`)) absolute = remap.to + absolute.slice(remap.from.length);
    }
    return absolute;
  }

  private lookup(absolute: string): SwaggerNode | undefined {
    const [uri = '', pointer = ''] = absolute.split('#');
    let node: Json | undefined = this.documents.get(uri);
    for (const token of pointer.split('/').filter((t) => t !== '')) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = node[unescapePointer(token)];
    }
    return node !== null && typeof node === 'object' && !Array.isArray(node) ? node : undefined;
  }

  private convertDefinitions(document: SwaggerNode, uri: string): Record<string, object> {
    const out: Record<string, object> = {};
    const definitions = (document.definitions ?? {}) as Record<string, SwaggerNode>;
    for (const [name, definition] of Object.entries(definitions)) {
      const self = `${uri}#/definitions/${escapePointer(name)}`;
      if (typeof definition.discriminator === 'string') {
        // The base, as subtypes include it through `allOf`, and the base with its subtypes, as
        // every other reference sees it: the discriminator's value picks the subtype to check.
        out[`${name}.base`] = this.convert(definition, uri);
        out[name] = {
          allOf: [
            { $ref: `${self}.base` },
            ...this.subtypes(self).map((s) => ({
              if: {
                properties: { [definition.discriminator as string]: { const: s.value } },
                required: [definition.discriminator],
              },
              // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable
              then: { $ref: s.ref },
            })),
          ],
        };
      } else {
        out[name] = this.convert(definition, uri);
      }
    }
    return out;
  }

  /** The definitions, across every vendored file, whose `allOf` names `parent`. */
  private subtypes(parentRef: string): Array<{ ref: string; value: string }> {
    const found: Array<{ ref: string; value: string }> = [];
    for (const [uri, document] of this.documents) {
      for (const [name, definition] of Object.entries(
        (document.definitions ?? {}) as Record<string, SwaggerNode>,
      )) {
        const parts = (definition.allOf ?? []) as SwaggerNode[];
        if (!parts.some((p) => typeof p.$ref === 'string' && this.resolve(p.$ref, uri) === parentRef))
          continue;
        const value = definition['x-ms-discriminator-value'];
        found.push({
          ref: `${uri}#/definitions/${escapePointer(name)}`,
          value: typeof value === 'string' ? value : name,
        });
      }
    }
    return found;
  }

  private uriOf(node: SwaggerNode): string | undefined {
    for (const [uri, document] of this.documents) {
      for (const [name, definition] of Object.entries(
        (document.definitions ?? {}) as Record<string, SwaggerNode>,
      )) {
        if (definition === node) return `${uri}#/definitions/${escapePointer(name)}`;
      }
    }
    return undefined;
  }

  /** One Swagger schema node as JSON Schema (draft-07, as ajv's default). */
  private convert(node: SwaggerNode, base: string): object {
    if (typeof node.$ref === 'string') {
      // Swagger 2.0 ignores the siblings of a `$ref` (descriptions, readOnly).
      const target = this.resolve(node.$ref, base);
      if (!this.lookup(target)) return { 'x-unvendored': target.replace(BASE, '') };
      return { $ref: target };
    }
    const out: Record<string, unknown> = {};
    for (const key of COPIED_KEYWORDS) if (node[key] !== undefined) out[key] = node[key];
    if (node.exclusiveMinimum === true) out.exclusiveMinimum = node.minimum;
    if (node.exclusiveMaximum === true) out.exclusiveMaximum = node.maximum;
    if (node.exclusiveMinimum === true) delete out.minimum;
    if (node.exclusiveMaximum === true) delete out.maximum;
    if (node.type === 'file') delete out.type;
    if (out.type === undefined && (node.properties || node.additionalProperties !== undefined))
      out.type = 'object';
    if (node.properties) {
      out.properties = Object.fromEntries(
        Object.entries(node.properties as Record<string, SwaggerNode>).map(([k, v]) => [
          k,
          this.convert(v, base),
        ]),
      );
    }
    if (node.additionalProperties !== undefined && typeof node.additionalProperties === 'object') {
      out.additionalProperties = this.convert(node.additionalProperties as SwaggerNode, base);
    } else if (node.additionalProperties !== undefined) {
      out.additionalProperties = node.additionalProperties;
    }
    if (node.items) out.items = this.convert(node.items as SwaggerNode, base);
    if (node.allOf) {
      out.allOf = (node.allOf as SwaggerNode[]).map((part) =>
        typeof part.$ref === 'string' ? this.convertAllOfPart(part, base) : this.convert(part, base),
      );
    }
    // `x-nullable: true` (AutoRest) lets the value be null as well.
    return node['x-nullable'] === true ? { anyOf: [out, { type: 'null' }] } : out;
  }

  /** An `allOf` entry naming a discriminated parent includes the parent's base, not its dispatch. */
  private convertAllOfPart(part: SwaggerNode, base: string): object {
    const target = this.resolve(part.$ref as string, base);
    const found = this.lookup(target);
    if (!found) return { 'x-unvendored': target.replace(BASE, '') };
    return { $ref: typeof found.discriminator === 'string' ? `${target}.base` : target };
  }
}

const COPIED_KEYWORDS = [
  'type',
  'format',
  'enum',
  'required',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
  'minProperties',
  'maxProperties',
] as const;

/** The Swagger/AutoRest formats that ajv-formats does not know, checked as Azure defines them. */
function addSwaggerFormats(ajv: Ajv): void {
  const int = (bits: number) => (n: number) =>
    Number.isInteger(n) && n >= -(2 ** (bits - 1)) && n <= 2 ** (bits - 1) - 1;
  ajv.addFormat('int32', { type: 'number', validate: int(32) });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  // Seconds since the Unix epoch (Key Vault's attribute times).
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  // An ARM resource id: /subscriptions/..., /providers/..., or a tenant-level /{provider} path.
  ajv.addFormat('arm-id', { type: 'string', validate: (s: string) => /^\/[^/]+(\/[^/]+)+$/.test(s) });
  ajv.addFormat('password', { type: 'string', validate: () => true });
  ajv.addFormat('base64url', { type: 'string', validate: (s: string) => /^[A-Za-z0-9_-]*$/.test(s) });
  ajv.addFormat('byte', { type: 'string', validate: (s: string) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) });
  // RFC 1123 dates, as the Storage data plane writes them: `Wed, 02 Dec 2026 10:00:00 GMT`.
  ajv.addFormat('date-time-rfc1123', {
    type: 'string',
    validate: (s: string) =>
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(
        s,
      ) && !Number.isNaN(Date.parse(s)),
  });
  ajv.addFormat('duration', { type: 'string', validate: (s: string) => /^P/.test(s) });
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function listJsonFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listJsonFiles(root, relative));
    else if (entry.name.endsWith('.json')) out.push(relative);
  }
  return out;
}

function splitPath(p: string): string[] {
  return p.replace(/^\//, '').split('/');
}

function templateMatches(template: string[], segments: string[], pathValued: ReadonlySet<string>): boolean {
  const [first, ...rest] = template;
  if (first === undefined) return segments.length === 0;
  const parameter = /^\{([^}]+)\}$/.exec(first)?.[1];
  if (parameter !== undefined && pathValued.has(parameter)) {
    for (let taken = 0; taken <= segments.length; taken++) {
      if (templateMatches(rest, segments.slice(taken), pathValued)) return true;
    }
    return false;
  }
  const [segment, ...others] = segments;
  if (segment === undefined) return false;
  const matches =
    parameter !== undefined || first.toLowerCase() === decodeURIComponent(segment).toLowerCase();
  return matches && templateMatches(rest, others, pathValued);
}

/** The inline path parameters of an operation marked `x-ms-skip-url-encoding`: each holds a path. */
function pathValuedParameters(operation: SwaggerNode): Set<string> {
  const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
  return new Set(
    parameters
      .filter(
        (p): p is { [key: string]: Json } =>
          typeof p === 'object' &&
          p !== null &&
          !Array.isArray(p) &&
          p['x-ms-skip-url-encoding'] === true &&
          p.in === 'path',
      )
      .map((p) => String(p.name)),
  );
}

function parseBody(text: string): Json | undefined {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function describeParams(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'enum') return `: ${JSON.stringify(params.allowedValues)}`;
  if (error.keyword === 'format') return ` (${String(params.format)})`;
  return '';
}

function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapePointer(token: string): string {
  return decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
}
