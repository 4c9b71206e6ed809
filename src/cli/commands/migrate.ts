import { Command } from 'commander';
import { BiencoderError } from '../../errors.ts';

// Placeholder registered so that parallel work on each command touches only its own file.
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Copy an embedded collection into PostgreSQL (not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new BiencoderError('INVALID_ARGUMENT', 'migrate is not built yet');
    });
}
