/**
 * A pgvector collection target: a postgres:// or postgresql:// URL, optionally naming the collection
 * with a `collection` query parameter (default "default"):
 *
 *   postgres://user:password@db.example.com:5432/app?collection=articles&sslmode=require
 *
 * Everything else in the URL is the ordinary libpq / node-postgres connection string (host, port,
 * database, sslmode, `options=-c search_path=myschema` to keep the tables in a schema, ...). One
 * database holds any number of collections: each is a table `biencoder_<name>` plus a row in the
 * registry table `biencoder_collections`. Names are lowercase letters, digits and underscores (at most
 * 48, starting with a letter or underscore), so the table name is a plain identifier.
 */
import { BiencoderError } from '../../errors.ts';

export const DEFAULT_COLLECTION_NAME = 'default';
const NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export interface PgTarget {
  /** The connection string without the `collection` parameter. */
  readonly connectionString: string;
  readonly collection: string;
  /** The URL with its password replaced by ***, for messages and logs. */
  readonly display: string;
}

/** True for postgres:// and postgresql:// URLs. */
export function isPostgresUrl(target: unknown): target is string {
  return typeof target === 'string' && /^postgres(ql)?:\/\//i.test(target);
}

export function checkCollectionName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BiencoderError('INVALID_ARGUMENT', `collection name ${JSON.stringify(name)} is not valid: use 1-48 lowercase letters, digits or underscores, starting with a letter or underscore`);
  }
  return name;
}

/** Parses a postgres:// URL; `collection` (when given) overrides the URL's `collection` parameter. */
export function parsePgTarget(url: string, collection?: string): PgTarget {
  if (!isPostgresUrl(url)) throw new BiencoderError('INVALID_ARGUMENT', `${JSON.stringify(url)} is not a postgres:// or postgresql:// URL`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new BiencoderError('INVALID_ARGUMENT', `cannot parse the PostgreSQL URL: ${(error as Error).message}`, { cause: error });
  }
  const fromUrl = parsed.searchParams.getAll('collection');
  if (fromUrl.length > 1) throw new BiencoderError('INVALID_ARGUMENT', 'the PostgreSQL URL names more than one collection');
  parsed.searchParams.delete('collection');
  const name = checkCollectionName(collection ?? fromUrl[0] ?? DEFAULT_COLLECTION_NAME);
  const connectionString = parsed.toString();
  const shown = new URL(connectionString);
  if (shown.password !== '') shown.password = '***';
  shown.searchParams.set('collection', name);
  return { connectionString, collection: name, display: shown.toString() };
}
