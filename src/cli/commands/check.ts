import { Command } from 'commander';
import { checkCollection } from '../../collection/check.ts';

/** Exit code when the check finds problems (distinct from 1, a failure to run the check). */
export const CHECK_FAILED_EXIT = 3;

export function checkCommand(): Command {
  return new Command('check')
    .description('Check a collection\'s integrity: manifest, SQLite, documents, vectors and index agree.\nExit 0 when sound, 3 when problems are found.')
    .argument('<dir>', 'the collection directory')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const report = await checkCollection(dir);
      if (opts.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        const s = report.stats;
        process.stdout.write(`${report.ok ? 'ok' : 'PROBLEMS FOUND'}: ${dir}\n`);
        process.stdout.write(`  documents ${s.documents}, vectors ${s.vectors}, index ${s.indexSize ?? 'unreadable'} (saved at seq ${s.indexSeq} of ${s.seq}, ${s.indexLag} writes to replay)\n`);
        for (const p of report.problems) process.stdout.write(`  problem [${p.code}]: ${p.message}\n`);
        for (const w of report.warnings) process.stdout.write(`  warning: ${w}\n`);
      }
      if (!report.ok) process.exitCode = CHECK_FAILED_EXIT;
    });
}
