/**
 * Compiles a parsed metadata filter (filter.ts: the same language and semantics as the embedded store)
 * to a PostgreSQL boolean expression over a jsonb column. Every path segment and every value is a bind
 * parameter ($n): nothing from the filter is ever written into the SQL text, so quotes, `'; DROP
 * TABLE`, backslashes or unicode in keys and values are data, never code.
 *
 *   path a.b          (metadata -> $1::text -> $2::text)     `->` with a text key yields NULL on arrays
 *                                                            and scalars, so paths walk objects only
 *   exists            V IS [NOT] NULL                        (a JSON null is jsonb 'null', not SQL NULL)
 *   equality / $in    V = ANY($n::jsonb[]) OR (V is an array with an element = ANY(...)); jsonb equality:
 *                     numbers compare numerically (1 = 1.0), strings exactly, true/false/null by type
 *   $ne / $nin        NOT COALESCE(match, false)             (a missing field is "not equal")
 *   ranges            CASE WHEN jsonb_typeof(V) = 'number' THEN V::numeric > $n::numeric ...
 *                     strings compare in the "C" collation (byte order of UTF-8, as SQLite's BINARY)
 *
 * PostgreSQL's jsonb cannot hold U+0000: a filter value containing it is rejected (INVALID_ARGUMENT).
 */
import { BiencoderError } from '../../errors.ts';
import type { FilterNode, JsonScalar } from '../filter.ts';

/** Positional parameters shared by a statement and the filters compiled into it. */
export class SqlParams {
  readonly values: unknown[] = [];

  constructor(initial: readonly unknown[] = []) {
    this.values.push(...initial);
  }

  /** Adds a value and returns its placeholder ($n). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function checkValue(v: JsonScalar, where: string): JsonScalar {
  if (typeof v === 'string' && v.includes('\u0000')) {
    throw new BiencoderError('INVALID_ARGUMENT', `invalid filter at ${where}: the value contains a NUL character (U+0000), which PostgreSQL jsonb cannot hold`, { details: { at: where } });
  }
  return v;
}

/** Compiles `root` to SQL over `column` (a jsonb column reference), adding its parameters to `params`. */
export function compileFilterToSql(root: FilterNode, params: SqlParams, column = 'metadata'): string {
  const path = (segments: readonly string[]): string => `(${column}${segments.map((s) => ` -> ${params.add(s)}::text`).join('')})`;

  const emit = (node: FilterNode): string => {
    switch (node.op) {
      case 'and':
      case 'or':
        if (node.children.length === 0) return node.op === 'and' ? 'true' : 'false';
        return `(${node.children.map(emit).join(node.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'exists':
        return `(${path(node.path)} IS ${node.exists ? 'NOT ' : ''}NULL)`;
      case 'range': {
        const v = path(node.path);
        if (typeof node.value === 'number') {
          return `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric ${node.cmp} ${params.add(String(node.value))}::numeric ELSE false END)`;
        }
        checkValue(node.value, node.path.join('.'));
        return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN (${v} #>> '{}') COLLATE "C" ${node.cmp} ${params.add(node.value)}::text COLLATE "C" ELSE false END)`;
      }
      case 'in': {
        if (node.values.length === 0) return node.negate ? 'true' : 'false';
        const values = node.values.map((x) => JSON.stringify(checkValue(x, node.path.join('.'))));
        const v = path(node.path);
        const set = params.add(values);
        const match = `(${v} = ANY(${set}::jsonb[]) OR (CASE WHEN jsonb_typeof(${v}) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${v}) AS e(value) WHERE e.value = ANY(${set}::jsonb[])) ELSE false END))`;
        return node.negate ? `(NOT COALESCE(${match}, false))` : `COALESCE(${match}, false)`;
      }
    }
  };
  return emit(root);
}

/**
 * A condition that every row matching `root` meets and that the GIN index on metadata (jsonb_path_ops,
 * schema.ts) can serve: `metadata @> ANY(documents)`, one containment document per value a field must
 * equal, as itself and inside an array ({"tags": "a"} and {"tags": ["a"]}, as equality matches both).
 * ANDed with the filter, it changes no result but lets PostgreSQL read the matching rows through the
 * index instead of testing every row, which makes selective filters cheap at any table size. Only
 * equality and $in give one ($and: any child's, $or: all children's); ranges, $ne, $nin and $exists
 * do not. Undefined when the filter has none.
 */
export function containmentHint(root: FilterNode, params: SqlParams, column = 'metadata'): string | undefined {
  const documents = (node: FilterNode): string[] | undefined => {
    switch (node.op) {
      case 'and': {
        // the most selective child is not known here: the child with the fewest alternatives
        const hints = node.children.map(documents).filter((h): h is string[] => h !== undefined);
        return hints.length === 0 ? undefined : hints.reduce((a, b) => (b.length < a.length ? b : a));
      }
      case 'or': {
        const hints = node.children.map(documents);
        return hints.length > 0 && hints.every((h) => h !== undefined) ? hints.flat() : undefined;
      }
      case 'in': {
        if (node.negate) return undefined;
        const nest = (value: unknown): string => JSON.stringify(node.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value));
        return node.values.flatMap((x) => [nest(checkValue(x, node.path.join('.'))), nest([x])]);
      }
      default:
        return undefined;
    }
  };
  const docs = documents(root);
  if (docs === undefined || docs.length === 0) return undefined;
  return `${column} @> ANY(${params.add(docs)}::jsonb[])`;
}
