import type { Command } from 'commander';
import { describeSliceType, listSliceTypes } from '../../shared/flow/describe.ts';

export function register(program: Command): void {
  program
    .command('describe')
    .argument('[type]', 'a slice type, e.g. collect/postgres')
    .description('print the config schema of a slice type, with an example (no type: list the types)')
    .action((type: string | undefined) => {
      process.stdout.write((type ? describeSliceType(type) : listSliceTypes()) + '\n');
    });
}
