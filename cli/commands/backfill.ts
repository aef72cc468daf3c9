import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { backfill } from '../../shared/local/backfill.ts';
import { LocalRuntime } from '../../shared/local/runtime.ts';
import { formatCount, progress, table } from '../progress.ts';

interface BackfillOptions {
  from: string;
  to: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('backfill')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .argument('<dataset>', 'a collected table (<source>.<table>) or a view (<schema>.<name>)')
    .requiredOption('--from <T>', 'first timelabel of the range, YYYYMMDDHHmm00 UTC, aligned to the dataset\'s schedule')
    .requiredOption('--to <T>', 'last timelabel of the range, inclusive')
    .option('--json', 'print one JSON object: the batches run, the view periods reopened, every load and refresh')
    .description('run a range of one dataset again, and everything downstream of it, on the embedded default')
    .addHelpText(
      'after',
      '\nA collected table: its source is collected again for each timelabel (committed batches stay as they are; failed\n' +
        'and missing ones run), then every view reading it refreshes the periods the range overlaps. A view: its periods\n' +
        'in the range refresh again, then everything downstream. Each period uses the view version in effect for it.\n\n' +
        'Examples:\n  reef backfill examples/shop shop.orders --from 20260101000000 --to 20260101234500\n' +
        '  reef backfill examples/shop analytics.customer_ltv --from 20260101000000 --to 20260101230000 --json',
    )
    .action(async (dir: string, dataset: string, options: BackfillOptions) => {
      const flow = await loadFlow(dir);
      const bar = progress();
      bar.update(`starting the local runtime for ${flow.installation.name}…`);
      const runtime = await LocalRuntime.start(flow, { full: true });
      try {
        const report = await backfill(runtime, {
          dataset,
          from: options.from,
          to: options.to,
          onBatch: (b) => bar.note(`${b.status.padEnd(9)} ${b.dataset} @ ${b.timelabel}: ${formatCount(b.rows)} rows`),
          onOrganize: (o) => bar.note(`${o.status.padEnd(9)} ${o.kind === 'load' ? 'load of' : 'view'} ${o.dataset} @ ${o.timelabel}: ${formatCount(o.rows)} rows${o.error ? ` (${o.error.message})` : ''}`),
        });
        bar.done();
        if (options.json) {
          process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        } else {
          const rows = [['dataset', 'timelabel', 'step', 'status', 'rows']];
          for (const b of report.batches) rows.push([b.dataset, b.timelabel, 'collect', b.status, formatCount(b.rows)]);
          for (const o of report.organized) rows.push([o.dataset, o.timelabel, o.kind, o.status, formatCount(o.rows)]);
          process.stdout.write(table(rows) + '\n');
          const reopened = report.reopened.reduce((n, r) => n + r.timelabels.length, 0);
          process.stdout.write(`\nBackfilled ${report.dataset} for ${report.timelabels.length} period(s); ${reopened} view period(s) refreshed again.\n`);
          for (const r of report.reopened.filter((x) => x.running.length > 0)) {
            process.stdout.write(`${r.view}: ${r.running.join(', ')} were running in another run and were left to it.\n`);
          }
          for (const x of [...report.batches, ...report.organized].filter((x) => x.error)) process.stdout.write(`${x.dataset} @ ${x.timelabel}: ${x.error!.message}\n`);
        }
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        bar.done();
        await runtime.stop();
      }
    });
}
