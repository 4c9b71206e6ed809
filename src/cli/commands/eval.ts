import { Command } from 'commander';
import { BiencoderError } from '../../errors.ts';

// Placeholder registered so that parallel work on each command touches only its own file.
export function evalCommand(): Command {
  return new Command('eval')
    .description('Evaluate retrieval on a BEIR-format dataset (not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BiencoderError('INVALID_ARGUMENT', 'eval is not built yet');
    });
}
