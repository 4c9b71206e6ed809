import { Command } from 'commander';
import { BiencoderError } from '../../errors.ts';

// Placeholder registered so that parallel work on each command touches only its own file.
export function serveCommand(): Command {
  return new Command('serve')
    .description('Serve collections over HTTP (not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BiencoderError('INVALID_ARGUMENT', 'serve is not built yet');
    });
}
