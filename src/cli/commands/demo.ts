import { Command } from 'commander';
import { BiencoderError } from '../../errors.ts';

// Placeholder registered so that parallel work on each command touches only its own file.
export function demoCommand(): Command {
  return new Command('demo')
    .description('Index the bundled sample and answer a query (not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BiencoderError('INVALID_ARGUMENT', 'demo is not built yet');
    });
}
