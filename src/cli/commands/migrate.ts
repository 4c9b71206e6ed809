import { Command, InvalidArgumentError } from 'commander';
import { BiencoderError } from '../../errors.ts';
import { migrateCollection, type MigrateProgress } from '../../collection/pgvector/migrate.ts';
import { isPostgresUrl } from '../../collection/pgvector/target.ts';
import { createProgress, type Progress } from '../progress.ts';

/** Exit code when the copy finished but its verification found differences (as `check`). */
export const MIGRATE_VERIFY_FAILED_EXIT = 3;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description(
      'Copy an embedded collection (a directory) into PostgreSQL + pgvector, then verify counts and checksums.\n'
      + 'Resumable: re-running skips documents already copied. Stored vectors are copied, nothing is re-embedded.\n'
      + 'Keyword and hybrid search carry over: the target ranks with the source\'s keyword language and BM25.\n'
      + 'Exit 0 when verified, 3 when the copy differs from the source.',
    )
    .argument('<dir>', 'the embedded collection directory')
    .argument('<url>', 'postgres://user:password@host:port/database[?collection=name] (default collection name: "default")')
    .option('--collection <name>', 'the target collection name (overrides ?collection= in the URL)')
    .option('--batch-size <n>', 'documents per transaction', positiveInt, 500)
    .option('--verify-only', 'copy nothing: compare an existing target with the source')
    .option('--partitions <n>', 'hash-partition a new target\'s tables into n partitions (2..64; see docs/pgvector.md)', positiveInt)
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, url: string, opts: { collection?: string; batchSize: number; verifyOnly?: boolean; partitions?: number; json?: boolean }) => {
      if (!isPostgresUrl(url)) throw new BiencoderError('INVALID_ARGUMENT', `the target must be a postgres:// or postgresql:// URL, got ${JSON.stringify(url)}`);
      let progress: Progress | undefined;
      const onProgress = (p: MigrateProgress): void => {
        progress ??= createProgress({ label: 'migrating', unit: 'docs', total: p.total });
        progress.update(p.done);
      };
      let report;
      try {
        report = await migrateCollection(dir, url, { collection: opts.collection, batchSize: opts.batchSize, verifyOnly: opts.verifyOnly, partitions: opts.partitions, onProgress });
      } finally {
        progress?.stop();
      }
      const v = report.verification;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        if (opts.verifyOnly) {
          process.stdout.write(`compared ${report.target} with ${report.source} in ${report.seconds.toFixed(1)}s\n`);
        } else {
          process.stdout.write(`${report.created ? 'created' : 'updated'} ${report.target} from ${report.source} in ${report.seconds.toFixed(1)}s\n`);
          process.stdout.write(`  inserted ${report.inserted}, updated ${report.updated}, already present ${report.unchanged}\n`);
          if (report.indexBuilt) process.stdout.write('  built the HNSW index\n');
        }
        process.stdout.write(`  documents: source ${v.sourceCount}, target ${v.targetCount}${v.sourceCount === v.targetCount ? ' (equal)' : ' (DIFFERENT)'}\n`);
        process.stdout.write(`  checksum:  source ${v.sourceChecksum}\n             target ${v.targetChecksum}${v.sourceChecksum === v.targetChecksum ? ' (equal)' : ' (DIFFERENT)'}\n`);
        process.stdout.write(`${v.ok ? 'verified' : 'VERIFICATION FAILED: the target differs from the source'}\n`);
      }
      if (!v.ok) process.exitCode = MIGRATE_VERIFY_FAILED_EXIT;
    });
}
