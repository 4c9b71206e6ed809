import { Command } from 'commander';
import { BiencoderError } from '../../errors.ts';

// Placeholder registered so that parallel work on each command touches only its own file.
export function infoCommand(): Command {
  return new Command('info')
    .description('Show a collection manifest and counts (not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BiencoderError('INVALID_ARGUMENT', 'info is not built yet');
    });
}
