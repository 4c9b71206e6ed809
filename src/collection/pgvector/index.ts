/**
 * `biencoder/pgvector`: the PostgreSQL + pgvector store (loads `pg`). openCollection() and
 * createCollection() from the root entry point open the same store from a postgres:// URL.
 */
export { PgvectorCollection, type PgvectorOpenOptions, type PgvectorCreateOptions, type PgvectorInfo, type BuildIndexOptions } from './pgvector-collection.ts';
export { migrateCollection, type MigrateOptions, type MigrateProgress, type MigrateReport, type MigrateVerification } from './migrate.ts';
export { parsePgTarget, type PgTarget } from './target.ts';
export { citusDistributionStatements, distributeWithCitus } from './citus.ts';
