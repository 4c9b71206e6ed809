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
