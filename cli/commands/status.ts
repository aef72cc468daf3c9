import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { openMetadata } from '../../shared/local/runtime.ts';
import { installationStatus } from '../../shared/local/status.ts';
import { formatCount, formatDuration, table } from '../progress.ts';

export function register(program: Command): void {
  program
    .command('status')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object')
    .description('per dataset (collected, loaded, view, published): last timelabel, freshness lag, rows, last check, and why it is behind')
    .addHelpText('after', '\nWorks from another terminal while `reef dev` runs, on its (possibly sped-up) clock.\n\nExample:\n  reef status examples/shop --json')
    .action(async (dir: string, options: { json?: boolean }) => {
      const flow = await loadFlow(dir);
      const { metadata, now, close } = await openMetadata(flow);
      const status = await installationStatus(flow, metadata, now()).finally(close);
      if (options.json) {
        process.stdout.write(JSON.stringify(status, null, 2) + '\n');
        return;
      }
      if (status.datasets.length === 0) {
        process.stdout.write(`${flow.installation.name}: nothing collected yet; run \`reef dev ${dir}\` or \`reef run ${dir}\`\n`);
        return;
      }
      const rows = [['dataset', 'step', 'last timelabel', 'lag', 'rows', 'check', 'failed']];
      for (const d of status.datasets) {
        const step = d.kind === 'published' ? `published by ${d.slice}` : d.kind;
        const lag = d.lagSeconds === null ? '-' : formatDuration(d.lagSeconds) + (d.stale ? ' (stale)' : '');
        rows.push([d.dataset, step, d.lastTimelabel ?? '-', lag, formatCount(d.rows), d.lastCheck ?? '-', String(d.failed)]);
      }
      process.stdout.write(table(rows) + '\n');
      for (const d of status.datasets.filter((x) => x.why)) process.stdout.write(`${d.dataset} (${d.kind}): ${d.why}\n`);
    });
}
