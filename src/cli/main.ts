import { Command, CommanderError } from 'commander';
import { BiencoderError } from '../errors.ts';
import { embedCommand } from './commands/embed.ts';
import { modelsCommand } from './commands/models.ts';
import { checkCommand } from './commands/check.ts';
import { indexCommand } from './commands/index.ts';
import { searchCommand } from './commands/search.ts';
import { demoCommand } from './commands/demo.ts';
import { infoCommand } from './commands/info.ts';
import { deleteCommand } from './commands/delete.ts';
import { serveCommand } from './commands/serve.ts';
import { evalCommand } from './commands/eval.ts';
import { migrateCommand } from './commands/migrate.ts';

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('biencoder')
    .description('Bi-encoder semantic search: embeddings, vector indexes, collections.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(embedCommand());
  program.addCommand(modelsCommand());
  program.addCommand(checkCommand());
  program.addCommand(indexCommand());
  program.addCommand(searchCommand());
  program.addCommand(demoCommand());
  program.addCommand(infoCommand());
  program.addCommand(deleteCommand());
  program.addCommand(serveCommand());
  program.addCommand(evalCommand());
  program.addCommand(migrateCommand());
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI on argv (process.argv layout) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof BiencoderError) {
      process.stderr.write(`biencoder: error [${error.code}]: ${error.message}\n`);
      return EXIT.failure;
    }
    process.stderr.write(`biencoder: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.failure;
  }
}
