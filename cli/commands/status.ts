import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { openMetadata } from '../../shared/local/runtime.ts';
import { findSliceType } from '../../slices/registry.ts';
import { parseSchedule, periodEnd } from '../../shared/timelabel.ts';
import { formatCount, formatDuration, table } from '../progress.ts';

export interface LoadunitStatus {
  slice: string;
  loadunit: string;
  dataset: string;
  lastTimelabel: string | null;
  lastRows: number;
  totalRows: number;
  /** Seconds from the end of the last committed period to now; null before the first commit. */
  lagSeconds: number | null;
  failedBatches: number;
  lastError: string | null;
}

export function register(program: Command): void {
  program
    .command('status')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object')
    .description('per loadunit: last committed timelabel, rows, lag, failures')
    .action(async (dir: string, options: { json?: boolean }) => {
      const flow = await loadFlow(dir);
      const { metadata, close } = await openMetadata(flow);
      const now = new Date();
      const loadunits: LoadunitStatus[] = [];
      try {
        for (const source of flow.sources) {
          const definition = findSliceType(source.type);
          const schedule = parseSchedule(definition!.schedule(source.config));
          const states = await metadata.listLoadunitStates(source.slice);
          const batches = await metadata.listBatches(source.slice);
          const names = [...new Set([...states.map((s) => s.loadunit), ...batches.map((b) => b.loadunit)])].sort();
          for (const name of names) {
            const state = states.find((s) => s.loadunit === name);
            const failed = batches.filter((b) => b.loadunit === name && b.status === 'failed');
            loadunits.push({
              slice: source.slice,
              loadunit: name,
              dataset: state?.dataset ?? `${source.slice}.${name}`,
              lastTimelabel: state?.lastCommittedTimelabel ?? null,
              lastRows: state?.lastFigures.rows ?? 0,
              totalRows: state?.totalRows ?? 0,
              lagSeconds: state ? Math.max(0, Math.round((now.getTime() - periodEnd(schedule, state.lastCommittedTimelabel).getTime()) / 1000)) : null,
              failedBatches: failed.length,
              lastError: failed.at(-1)?.error?.message ?? null,
            });
          }
        }
      } finally {
        await close();
      }
      if (options.json) {
        process.stdout.write(JSON.stringify({ installation: flow.installation.name, at: now.toISOString(), loadunits }, null, 2) + '\n');
        return;
      }
      if (loadunits.length === 0) {
        process.stdout.write(`${flow.installation.name}: nothing collected yet; run \`reef run ${dir}\`\n`);
        return;
      }
      const rows = [['dataset', 'last timelabel', 'rows (last)', 'rows (total)', 'lag', 'failed']];
      for (const l of loadunits) {
        rows.push([l.dataset, l.lastTimelabel ?? '-', formatCount(l.lastRows), formatCount(l.totalRows), l.lagSeconds === null ? '-' : formatDuration(l.lagSeconds), String(l.failedBatches)]);
      }
      process.stdout.write(table(rows) + '\n');
      for (const l of loadunits.filter((x) => x.lastError)) process.stdout.write(`${l.dataset}: last failure: ${l.lastError}\n`);
    });
}
