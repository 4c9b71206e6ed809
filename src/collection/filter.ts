/**
 * The metadata filter language of collection searches (a small subset of MongoDB's query language).
 *
 *   { field: value }                       equality; for an array field: the array contains value
 *   { field: { $eq: v } } / { $ne: v }     equal / not equal (a missing field is "not equal")
 *   { field: { $in: [...] } } / { $nin }   one of / none of (array fields: any element)
 *   { field: { $gt, $gte, $lt, $lte } }    ranges over numbers, or over strings (lexicographic);
 *                                          numbers only compare with numbers, strings with strings
 *   { field: { $exists: true | false } }   the field is present (even as null) / absent
 *   { $and: [f, ...] }, { $or: [f, ...] }  non-empty lists of filters
 *
 * Several fields (or operators) in one object are ANDed; `{}` matches everything. A field is a
 * top-level metadata key, or a dotted path into nested objects ("author.name"). Values are JSON
 * scalars: string, finite number, boolean, null (null matches an explicit null only). Everything else
 * is rejected with INVALID_ARGUMENT naming the offending place.
 *
 * Filters run in SQLite (json_type / json_extract / json_each over the metadata column) to select
 * the matching document keys; `matchesFilter` is the same semantics in JavaScript.
 */
import { BiencoderError } from '../errors.ts';

export type JsonScalar = string | number | boolean | null;
export type JsonValue = JsonScalar | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type Metadata = { readonly [key: string]: JsonValue };

export interface FieldOperators {
  readonly $eq?: JsonScalar;
  readonly $ne?: JsonScalar;
  readonly $in?: readonly JsonScalar[];
  readonly $nin?: readonly JsonScalar[];
  readonly $gt?: number | string;
  readonly $gte?: number | string;
  readonly $lt?: number | string;
  readonly $lte?: number | string;
  readonly $exists?: boolean;
}

export type FieldCondition = JsonScalar | FieldOperators;

export interface MetadataFilter {
  readonly $and?: readonly MetadataFilter[];
  readonly $or?: readonly MetadataFilter[];
  readonly [field: string]: FieldCondition | readonly MetadataFilter[] | undefined;
}

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists']);
const MAX_DEPTH = 32;
const MAX_NODES = 10_000;

/** A validated filter in a normal form. */
export type FilterNode =
  | { readonly op: 'and' | 'or'; readonly children: readonly FilterNode[] }
  | { readonly op: 'in'; readonly path: readonly string[]; readonly values: readonly JsonScalar[]; readonly negate: boolean }
  | { readonly op: 'range'; readonly path: readonly string[]; readonly cmp: '>' | '>=' | '<' | '<='; readonly value: number | string }
  | { readonly op: 'exists'; readonly path: readonly string[]; readonly exists: boolean };

function bad(where: string, message: string): BiencoderError {
  return new BiencoderError('INVALID_ARGUMENT', `invalid filter at ${where}: ${message}`, { details: { at: where } });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return v === null ? 'null' : 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return typeof v;
}

function checkScalar(v: unknown, where: string): JsonScalar {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(where, `${v} is not a finite number`);
    return v;
  }
  throw bad(where, `expected a string, finite number, boolean or null, got ${describe(v)}${Array.isArray(v) ? ' (use $in to match one of several values)' : ''}`);
}

function parsePath(field: string, where: string): string[] {
  const segments = field.split('.');
  for (const s of segments) {
    if (s === '') throw bad(where, `field ${JSON.stringify(field)} has an empty path segment`);
    if (s.startsWith('$')) throw bad(where, `field ${JSON.stringify(field)}: names starting with $ are reserved for operators`);
    // eslint-disable-next-line no-control-regex
    if (/["\\\u0000-\u001f]/.test(s)) throw bad(where, `field ${JSON.stringify(field)} contains a quote, backslash or control character`);
  }
  return segments;
}

/** Validates a filter and returns its normal form; throws INVALID_ARGUMENT on anything malformed. */
export function parseFilter(filter: unknown): FilterNode {
  let nodes = 0;
  const walk = (f: unknown, where: string, depth: number): FilterNode => {
    if (depth > MAX_DEPTH) throw bad(where, `nested deeper than ${MAX_DEPTH} levels`);
    if (!isPlainObject(f)) throw bad(where, `a filter must be a plain object, got ${describe(f)}`);
    const children: FilterNode[] = [];
    for (const [key, value] of Object.entries(f)) {
      const at = `${where}.${key}`;
      if (++nodes > MAX_NODES) throw bad(where, `more than ${MAX_NODES} conditions`);
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(value) || value.length === 0) throw bad(at, `${key} needs a non-empty array of filters, got ${describe(value)}`);
        children.push({ op: key === '$and' ? 'and' : 'or', children: value.map((c, i) => walk(c, `${at}[${i}]`, depth + 1)) });
      } else if (key.startsWith('$')) {
        throw bad(at, `unknown operator ${key} (top-level operators: $and, $or; field operators: ${[...FIELD_OPERATORS].join(', ')})`);
      } else {
        children.push(...fieldConditions(parsePath(key, at), value, at));
      }
    }
    return children.length === 1 ? children[0] : { op: 'and', children };
  };
  return walk(filter, 'filter', 0);
}

function fieldConditions(path: string[], cond: unknown, where: string): FilterNode[] {
  if (!isPlainObject(cond)) return [{ op: 'in', path, values: [checkScalar(cond, where)], negate: false }];
  const entries = Object.entries(cond);
  if (entries.length === 0) throw bad(where, 'an empty operator object (to match nested objects, use a dotted path: "a.b": value)');
  const out: FilterNode[] = [];
  for (const [op, v] of entries) {
    const at = `${where}.${op}`;
    switch (op) {
      case '$eq':
      case '$ne':
        out.push({ op: 'in', path, values: [checkScalar(v, at)], negate: op === '$ne' });
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(v)) throw bad(at, `${op} needs an array of scalars, got ${describe(v)}`);
        if (v.length > MAX_NODES) throw bad(at, `${op} lists more than ${MAX_NODES} values`);
        out.push({ op: 'in', path, values: v.map((x, i) => checkScalar(x, `${at}[${i}]`)), negate: op === '$nin' });
        break;
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte': {
        if (typeof v === 'number') {
          if (!Number.isFinite(v)) throw bad(at, `${v} is not a finite number`);
        } else if (typeof v !== 'string') {
          throw bad(at, `${op} needs a number or a string, got ${describe(v)}`);
        }
        const cmp = op === '$gt' ? '>' : op === '$gte' ? '>=' : op === '$lt' ? '<' : '<=';
        out.push({ op: 'range', path, cmp, value: v });
        break;
      }
      case '$exists':
        if (typeof v !== 'boolean') throw bad(at, `$exists needs true or false, got ${describe(v)}`);
        out.push({ op: 'exists', path, exists: v });
        break;
      default:
        throw bad(at, op.startsWith('$')
          ? `unknown operator ${op} (field operators: ${[...FIELD_OPERATORS].join(', ')})`
          : `${JSON.stringify(op)} is not an operator; to match nested objects use a dotted path ("${path.join('.')}.${op}")`);
    }
  }
  return out;
}

/** A SQL boolean expression over a JSON metadata column, with named parameters. */
export interface CompiledFilter {
  readonly sql: string;
  readonly params: Record<string, string | number>;
}

/**
 * Compiles a filter to a SQL expression over `column` (JSON text), e.g.
 * `SELECT key FROM docs WHERE ${sql}` run with `params`.
 */
export function compileFilter(filter: MetadataFilter, column = 'metadata'): CompiledFilter {
  return compileFilterNode(parseFilter(filter), column);
}

/** compileFilter for an already parsed filter. */
export function compileFilterNode(root: FilterNode, column = 'metadata'): CompiledFilter {
  const params: Record<string, string | number> = {};
  let n = 0;
  const param = (v: string | number): string => {
    const name = `p${n++}`;
    params[name] = v;
    return `@${name}`;
  };
  const jsonPath = (path: readonly string[]): string => `$${path.map((s) => `."${s}"`).join('')}`;

  // The match of one scalar (type T, SQL value V) against a set of JSON scalars.
  const setMatch = (T: string, V: string, values: readonly JsonScalar[]): string => {
    const strings = values.filter((v): v is string => typeof v === 'string');
    const numbers = values.filter((v): v is number => typeof v === 'number');
    const parts: string[] = [];
    if (strings.length === 1) parts.push(`(${T} = 'text' AND ${V} = ${param(strings[0])})`);
    else if (strings.length > 1) parts.push(`(${T} = 'text' AND ${V} IN (SELECT value FROM json_each(${param(JSON.stringify(strings))})))`);
    if (numbers.length === 1) parts.push(`(${T} IN ('integer', 'real') AND ${V} = ${param(numbers[0])})`);
    else if (numbers.length > 1) parts.push(`(${T} IN ('integer', 'real') AND ${V} IN (SELECT value FROM json_each(${param(JSON.stringify(numbers))})))`);
    const types: string[] = [];
    if (values.includes(true)) types.push(`'true'`);
    if (values.includes(false)) types.push(`'false'`);
    if (values.includes(null)) types.push(`'null'`);
    if (types.length > 0) parts.push(`${T} IN (${types.join(', ')})`);
    return parts.length === 0 ? '0' : parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
  };

  const emit = (node: FilterNode): string => {
    switch (node.op) {
      case 'and':
      case 'or':
        if (node.children.length === 0) return node.op === 'and' ? '1' : '0';
        return `(${node.children.map(emit).join(node.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'exists': {
        const p = param(jsonPath(node.path));
        return `(json_type(${column}, ${p}) IS ${node.exists ? 'NOT ' : ''}NULL)`;
      }
      case 'range': {
        const p = param(jsonPath(node.path));
        const types = typeof node.value === 'number' ? `IN ('integer', 'real')` : `= 'text'`;
        return `(json_type(${column}, ${p}) ${types} AND json_extract(${column}, ${p}) ${node.cmp} ${param(node.value)})`;
      }
      case 'in': {
        if (node.values.length === 0) return node.negate ? '1' : '0';
        const p = param(jsonPath(node.path));
        const T = `json_type(${column}, ${p})`;
        const scalar = setMatch(T, `json_extract(${column}, ${p})`, node.values);
        const element = setMatch('je.type', 'je.value', node.values);
        const match = `(${scalar} OR (${T} = 'array' AND EXISTS (SELECT 1 FROM json_each(${column}, ${p}) AS je WHERE ${element})))`;
        return node.negate ? `(NOT COALESCE(${match}, 0))` : match; // SQL NULL (a missing field) is "not equal"
      }
    }
  };
  return { sql: emit(root), params };
}

function lookup(metadata: Metadata, path: readonly string[]): { found: boolean; value: JsonValue } {
  let cur: JsonValue = metadata;
  for (const s of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, s)) return { found: false, value: null };
    cur = (cur as { readonly [key: string]: JsonValue })[s];
  }
  return { found: true, value: cur };
}

function scalarIn(v: JsonValue, values: readonly JsonScalar[]): boolean {
  return (v === null || typeof v !== 'object') && values.includes(v as JsonScalar);
}

/** Evaluates a filter on one metadata object in JavaScript (the same semantics as the SQL). */
export function matchesFilter(metadata: Metadata, filter: MetadataFilter): boolean {
  return matchesFilterNode(metadata, parseFilter(filter));
}

/** matchesFilter for an already parsed filter. */
export function matchesFilterNode(metadata: Metadata, root: FilterNode): boolean {
  const evaluate = (n: FilterNode): boolean => {
    switch (n.op) {
      case 'and':
        return n.children.every(evaluate);
      case 'or':
        return n.children.some(evaluate);
      case 'exists':
        return lookup(metadata, n.path).found === n.exists;
      case 'range': {
        const { found, value } = lookup(metadata, n.path);
        if (!found || typeof value !== typeof n.value) return false;
        const a = value as number | string;
        const b = n.value;
        return n.cmp === '>' ? a > b : n.cmp === '>=' ? a >= b : n.cmp === '<' ? a < b : a <= b;
      }
      case 'in': {
        const { found, value } = lookup(metadata, n.path);
        const hit = found && (scalarIn(value, n.values) || (Array.isArray(value) && value.some((e: JsonValue) => scalarIn(e, n.values))));
        return n.negate ? !hit : hit;
      }
    }
  };
  return evaluate(root);
}

/** A deleteWhere filter: a filter that selects something specific; the empty filter (every row) is refused. */
export function checkDeleteFilter(filter: unknown): void {
  if (filter !== null && typeof filter === 'object' && !Array.isArray(filter) && Object.keys(filter).length === 0) {
    throw new BiencoderError('INVALID_ARGUMENT', 'deleteWhere refuses the empty filter {}, which matches every document: delete the collection, or name what to delete');
  }
}
