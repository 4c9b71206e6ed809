/**
 * Keyword (BM25) search of pgvector collections, computed in PostgreSQL over a postings table that the
 * write transactions keep (schema.ts: biencoder_<name>$t). The terms come from the same analyzer as the
 * embedded store's (src/analysis), run here in the client: PostgreSQL's text search has other
 * tokenizers and stemmers, and its ts_rank is not BM25, so it could not give the embedded store's
 * scores. The formula is src/keyword/bm25.ts term for term (FTS5's bm25(): idf floored at 1e-6, a
 * query term given twice counts twice, tf capped at MAX_TF), with N and the total length read from the
 * registry row, so both stores give the same scores to the same documents (to rounding: the sum's order
 * differs). Document frequencies are counted from the term index at query time (index-only scans of
 * the query's terms' postings): keeping them in a table would make every writer update the same rows.
 */
import type { Analyzer } from '../../analysis/index.ts';
import { DEFAULT_BM25, queryTermWeights, type Bm25Parameters } from '../../keyword/bm25.ts';
import { MAX_TF } from '../../keyword/inverted-index.ts';
import type { Manifest } from '../manifest.ts';
import { inTransaction, storeError, type Pool, type PoolClient } from './connection.ts';
import { lockRegistry } from './manifest-table.ts';
import { REGISTRY_TABLE, metadataIndexDdl, quoteIdent, tableNames, termsDdl } from './schema.ts';
import type { SqlParams } from './filter-sql.ts';
import type { PgTarget } from './target.ts';

/** Postings per INSERT statement. */
const POSTINGS_PER_STATEMENT = 20_000;
/** Documents analyzed per page when the postings of a stored collection are built. */
const BUILD_PAGE = 2000;

/** The postings of a batch of documents as the columns of an unnest() insert, and their total length. */
export interface PostingColumns {
  readonly ids: string[];
  readonly terms: string[];
  readonly tfs: number[];
  readonly lens: number[];
  /** Sum of the documents' lengths (terms, repeats and stopwords included, as BM25's |D|). */
  readonly length: number;
}

/** Analyzes documents into posting rows: one per distinct term of each document. */
export function postingColumns(analyzer: Analyzer, docs: readonly { readonly id: string; readonly text: string }[]): PostingColumns {
  const out: PostingColumns = { ids: [], terms: [], tfs: [], lens: [], length: 0 };
  let length = 0;
  for (const doc of docs) {
    const terms = analyzer.terms(doc.text);
    const counts = new Map<string, number>();
    for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [term, tf] of counts) {
      out.ids.push(doc.id);
      out.terms.push(term);
      out.tfs.push(tf > MAX_TF ? MAX_TF : tf);
      out.lens.push(terms.length);
    }
    length += terms.length;
  }
  return { ...out, length };
}

/** Inserts posting rows (the documents' old postings must be gone). */
export async function insertPostings(client: PoolClient, termsTable: string, columns: PostingColumns): Promise<void> {
  const table = quoteIdent(termsTable);
  for (let i = 0; i < columns.ids.length; i += POSTINGS_PER_STATEMENT) {
    const end = i + POSTINGS_PER_STATEMENT;
    await client.query(
      `INSERT INTO ${table} (id, term, tf, len) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[])`,
      [columns.ids.slice(i, end), columns.terms.slice(i, end), columns.tfs.slice(i, end), columns.lens.slice(i, end)],
    );
  }
}

/** Deletes the postings of these documents; returns the sum of their lengths (for the registry's term_count). */
export async function deletePostings(client: PoolClient, termsTable: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await client.query<{ length: string }>(
    `WITH gone AS (DELETE FROM ${quoteIdent(termsTable)} WHERE id = ANY($1::text[]) RETURNING id, len)
     SELECT coalesce(sum(len), 0)::text AS length FROM (SELECT DISTINCT id, len FROM gone) AS per_document`,
    [ids],
  );
  return Number(rows[0].length);
}

/** The distinct query terms with how often the query gives each (a term given twice counts twice, as in the embedded engine). */
export function weightedTerms(terms: readonly string[]): { readonly terms: string[]; readonly weights: number[] } {
  const weights = queryTermWeights(terms);
  return { terms: [...weights.keys()], weights: [...weights.values()] };
}

/** Placeholders of the BM25 constants in a statement (bm25Placeholders). */
export interface Bm25Placeholders {
  readonly k1plus1: string;
  readonly base: string;
  readonly k1b: string;
}

/** Adds the BM25 constants as bm25.ts computes them in JavaScript (lengthNorm), as float8 parameters so both stores round alike. */
export function bm25Placeholders(params: SqlParams, bm25: Bm25Parameters = DEFAULT_BM25): Bm25Placeholders {
  return { k1plus1: params.add(bm25.k1 + 1), base: params.add(bm25.k1 * (1 - bm25.b)), k1b: params.add(bm25.k1 * bm25.b) };
}

/**
 * A SELECT of (id, score) for every document matching at least one of the query's terms, scored by
 * BM25. `terms` and `weights` are placeholders of a text[] and a float8[] (weightedTerms), `collection`
 * of the collection's name (its registry row holds N and the total length).
 */
export function bm25ScoresSql(termsTable: string, placeholders: { terms: string; weights: string; collection: string; bm25: Bm25Placeholders }): string {
  const t = quoteIdent(termsTable);
  const { k1plus1, base, k1b } = placeholders.bm25;
  return `SELECT p.id, sum(w.idf * ((p.tf * ${k1plus1}::float8) / (p.tf + ${base}::float8 + w.slope * p.len))) AS score
    FROM (
      SELECT q.term, q.weight * greatest(ln((st.n - f.df + 0.5) / (f.df + 0.5)), 1e-6) AS idf,
             ${k1b}::float8 / (CASE WHEN st.total > 0 THEN st.total / st.n ELSE 1 END) AS slope
      FROM unnest(${placeholders.terms}::text[], ${placeholders.weights}::float8[]) AS q(term, weight)
      CROSS JOIN (SELECT doc_count::float8 AS n, term_count::float8 AS total FROM ${REGISTRY_TABLE} WHERE name = ${placeholders.collection} AND doc_count > 0) AS st
      CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM ${t} AS c WHERE c.term = q.term) AS f
      WHERE f.df > 0
    ) AS w
    JOIN ${t} AS p ON p.term = w.term
    GROUP BY p.id`;
}

/** The number of hash partitions of a table (0 when it is not partitioned). */
export async function partitionCount(db: Pool | PoolClient, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = $1::regclass', [quoteIdent(table)]);
  return rows[0].n;
}

/**
 * Builds the postings and statistics of a collection made before keyword search (or indexed by an
 * older analyzer) from its stored texts, in one transaction that holds writers off (SHARE lock on the
 * documents) and records the analyzer in the manifest. Returns the manifest as stored. Another process
 * that built them meanwhile makes this a no-op.
 */
export async function buildKeywordPostings(pool: Pool, target: PgTarget, analyzer: Analyzer, manifest: Manifest): Promise<Manifest> {
  const names = tableNames(target.collection);
  const table = quoteIdent(names.table);
  try {
    return await inTransaction(pool, async (client) => {
      await lockRegistry(client);
      // The documents first, then the registry row: the order every writer takes them in (its rows, then bumpSeq).
      await client.query(`LOCK TABLE ${table} IN SHARE MODE`);
      const { rows } = await client.query<{ manifest: Manifest; doc_count: string | null }>(
        `SELECT manifest, doc_count::text AS doc_count FROM ${REGISTRY_TABLE} WHERE name = $1 FOR UPDATE`, [target.collection],
      );
      const stored = rows[0]?.manifest ?? manifest;
      const built = stored.keyword?.analyzer;
      if (rows[0]?.doc_count != null && built !== undefined && built.language === analyzer.spec.language && built.name === analyzer.spec.name && built.version === analyzer.spec.version) return stored;
      const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [quoteIdent(names.terms)]);
      if (exists.rows[0]?.t == null) {
        for (const ddl of termsDdl(names, await partitionCount(client, names.table))) await client.query(ddl);
      } else {
        await client.query(`TRUNCATE ${quoteIdent(names.terms)}`);
      }
      let docs = 0;
      let length = 0;
      for (let after = ''; ;) {
        const page = await client.query<{ id: string; text: string }>(`SELECT id, text FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${BUILD_PAGE}`, [after]);
        if (page.rows.length === 0) break;
        const columns = postingColumns(analyzer, page.rows);
        await insertPostings(client, names.terms, columns);
        docs += page.rows.length;
        length += columns.length;
        after = page.rows[page.rows.length - 1].id;
      }
      await client.query(metadataIndexDdl(names)); // made with the postings: filters read through it
      const updated: Manifest = { ...stored, keyword: { analyzer: analyzer.spec } };
      await client.query(
        `UPDATE ${REGISTRY_TABLE} SET manifest = $2::jsonb, doc_count = $3, term_count = $4, seq = seq + 1, updated_at = now() WHERE name = $1`,
        [target.collection, JSON.stringify(updated), docs, length],
      );
      return updated;
    });
  } catch (error) {
    throw storeError(error, 'building the keyword postings', target.display);
  }
}
