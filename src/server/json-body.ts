/**
 * The parser of application/json bodies: secure-json-parse, as fastify's own parser (a leading BOM is
 * skipped; `__proto__` keys and `constructor` keys holding `prototype`, anywhere, are refused), but
 * its refusals are 400 INVALID_REQUEST saying why: the syntax error's reason, or where the forbidden
 * key is (fastify's says only "Body is not valid JSON"). `__proto__` is also the library's rule
 * (document-input.ts). Locating the key costs a second parse and a walk, only for a body refused anyway.
 */
import { parse as secureJsonParse } from 'secure-json-parse';
import { PROTO_KEY, protoKeyMessage } from '../collection/document-input.ts';
import { HttpError } from './errors.ts';

const REFUSE_PROTOTYPE_KEYS = { protoAction: 'error', constructorAction: 'error' } as const;
const NO_CHECKS = { protoAction: 'ignore', constructorAction: 'ignore' } as const;

/** The value of a JSON body (what fastify's parser for application/json hands the routes); HttpError 400 INVALID_REQUEST when refused. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new HttpError(400, 'INVALID_REQUEST', 'the body is empty: send a JSON object');
  try {
    return secureJsonParse(text, REFUSE_PROTOTYPE_KEYS) as unknown;
  } catch (error) {
    throw refusal(text, error as Error);
  }
}

/** Why secure-json-parse refused `text`: its syntax error, or the forbidden key, found again to name where it is. */
function refusal(text: string, error: Error): HttpError {
  let value: unknown;
  try {
    value = secureJsonParse(text, NO_CHECKS) as unknown;
  } catch (syntax) {
    return new HttpError(400, 'INVALID_REQUEST', `the body is not valid JSON: ${(syntax as Error).message}`);
  }
  return new HttpError(400, 'INVALID_REQUEST', forbiddenKeyMessage(value) ?? `the body is refused: ${error.message}`);
}

/** "documents[0].metadata", or "the body" for the top level. */
function pathText(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the body';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function holdsPrototype(node: object): boolean {
  if (!Object.hasOwn(node, 'constructor')) return false;
  const c = (node as { constructor: unknown }).constructor;
  return typeof c === 'object' && c !== null && Object.hasOwn(c, 'prototype');
}

/**
 * The message naming the first forbidden key of a parsed body in document order (secure-json-parse's
 * rule: `__proto__`, or `constructor` holding `prototype`), or undefined. Depth-first on parallel stacks
 * of nodes, keys and depths (no object allocated per container; deep nesting keeps few nodes pending);
 * `path` holds the keys down to the node being visited.
 */
export function forbiddenKeyMessage(value: unknown): string | undefined {
  const nodes: unknown[] = [value];
  const keys: (string | number)[] = [''];
  const depths: number[] = [0];
  const path: (string | number)[] = [];
  const push = (node: unknown, key: string | number, depth: number): void => {
    if (typeof node !== 'object' || node === null) return;
    nodes.push(node);
    keys.push(key);
    depths.push(depth);
  };
  while (nodes.length > 0) {
    const node = nodes.pop() as object;
    const key = keys.pop()!;
    const depth = depths.pop()!;
    if (depth > 0) {
      path.length = depth - 1;
      path.push(key);
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) push(node[i], i, depth + 1);
      continue;
    }
    if (Object.hasOwn(node, PROTO_KEY)) return protoKeyMessage(pathText(path));
    if (holdsPrototype(node)) {
      return `${pathText(path)}: the key "constructor" holding a "prototype" key is not allowed (a deep merge of it would write into Object.prototype)`;
    }
    const names = Object.keys(node);
    for (let i = names.length - 1; i >= 0; i--) push((node as Record<string, unknown>)[names[i]], names[i], depth + 1);
  }
  return undefined;
}
