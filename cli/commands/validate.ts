import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .description('check reef.yaml, every slice file and every view; prints every problem with file and line')
    .action(async (dir: string) => {
      const flow = await loadFlow(dir);
      const units = flow.sources.map((s) => `${s.slice} (${s.type})`).join(', ');
      const views = flow.views.map((v) => v.name).join(', ');
      process.stdout.write(`${dir}: valid. installation ${flow.installation.name}; sources: ${units || 'none'}; views: ${views || 'none'}\n`);
    });
}
