/**
 * A real PostgreSQL wire protocol for tests: PGlite (PostgreSQL compiled to WebAssembly) with the
 * pgvector extension, served on 127.0.0.1 (an OS-chosen port) by @electric-sql/pglite-socket and
 * reached with the ordinary `pg` client, exactly as a PostgreSQL server would be.
 *
 * BIENCODER_PG_URL=postgres://user:pass@host:5432/db points the same tests at a real server instead
 * (with pgvector installed); tests then use collection names unique to the run and drop them.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';

export interface PgServer {
  /** postgres://... without a collection parameter. */
  readonly url: string;
  /** True for the in-process PGlite server, false for BIENCODER_PG_URL. */
  readonly embedded: boolean;
  /** A URL naming a collection unique to this server and run: `${url}?collection=<prefix>_<random>`. */
  collectionUrl(prefix: string): string;
  /** Runs one SQL statement on a fresh connection (for inspection and cleanup in tests). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  stop(): Promise<void>;
}

function withCollection(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('collection', name);
  return u.toString();
}

/** Starts PGlite + pgvector behind pglite-socket (or uses BIENCODER_PG_URL). */
export async function startPgServer(): Promise<PgServer> {
  const external = process.env.BIENCODER_PG_URL;
  const created: string[] = [];
  const collectionUrl = (base: string) => (prefix: string): string => {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    created.push(name);
    return withCollection(base, name);
  };
  const query = (base: string) => async <R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  };
  if (external) {
    const q = query(external);
    return {
      url: external,
      embedded: false,
      collectionUrl: collectionUrl(external),
      query: q,
      async stop(): Promise<void> {
        for (const name of created) {
          await q(`DROP TABLE IF EXISTS "biencoder_${name}", "biencoder_${name}$t"`).catch(() => undefined);
          await q('DELETE FROM biencoder_collections WHERE name = $1', [name]).catch(() => undefined);
          await q('DELETE FROM biencoder_query_adapters WHERE collection = $1', [name]).catch(() => undefined);
        }
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 64 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  return {
    url,
    embedded: true,
    collectionUrl: collectionUrl(url),
    query: query(url),
    async stop(): Promise<void> {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * The server of one test file: started before its tests and stopped after them. The object answers
 * for the server once it has started.
 */
export function pgServerForFile(): PgServer {
  let server: PgServer | undefined;
  before(async () => {
    server = await startPgServer();
  });
  after(async () => {
    await server?.stop();
  });
  const started = (): PgServer => {
    if (server === undefined) throw new Error('the test PostgreSQL server has not started yet');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get embedded() {
      return started().embedded;
    },
    collectionUrl: (prefix) => started().collectionUrl(prefix),
    query: (sql, params) => started().query(sql, params),
    stop: () => started().stop(),
  };
}
