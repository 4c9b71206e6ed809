import { Command, CommanderError, Help } from 'commander';
import { BiencoderError } from '../errors.ts';
import { COMMANDS } from './command-table.ts';
import { packageVersion } from '../version.ts';

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;


/**
 * The program for these arguments: the command they name (after `help`, too) is loaded whole;
 * the others stand in as a name and a summary, which is all the top-level help shows.
 */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const program = new Command('biencoder')
    .description('Bi-encoder semantic search: embeddings, vector indexes, collections.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ subcommandTerm: (cmd) => COMMANDS[cmd.name()]?.term ?? new Help().subcommandTerm(cmd) })
    .exitOverride();
  const operands = args.filter((a) => !a.startsWith('-'));
  const wanted = operands[0] === 'help' ? operands[1] : operands[0];
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const cmd = name === wanted ? await entry.load() : new Command(name);
    program.addCommand(cmd.summary(entry.summary));
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI on argv (process.argv layout) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv.slice(2));
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
