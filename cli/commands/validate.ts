import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .description('check reef.yaml and every slice file against their schemas; prints every problem with file and line')
    .action(async (dir: string) => {
      const flow = await loadFlow(dir);
      const units = flow.sources.map((s) => `${s.slice} (${s.type})`).join(', ');
      process.stdout.write(`${dir}: valid. installation ${flow.installation.name}; sources: ${units || 'none'}\n`);
    });
}
