import { Command } from 'commander';
import { BiencoderError } from '../../errors.ts';

// Placeholder registered so that parallel work on each command touches only its own file.
export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete documents or a collection (not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BiencoderError('INVALID_ARGUMENT', 'delete is not built yet');
    });
}
