import { relative } from 'node:path';
import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { LocalRuntime } from '../../shared/local/runtime.ts';
import { runFlow } from '../../shared/local/run.ts';
import { formatBytes, formatCount, progress, table } from '../progress.ts';

interface RunOptions {
  slice?: string;
  timelabel?: string;
  from?: string;
  to?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--slice <name>', 'run only this slice')
    .option('--timelabel <T>', 'run one period, YYYYMMDDHHmm00 UTC (default: the last complete period of each slice)')
    .option('--from <T>', 'first timelabel of a range (with --to)')
    .option('--to <T>', 'last timelabel of a range, inclusive')
    .option('--json', 'print one JSON object listing every batch')
    .description('run collect micro-batches now on the embedded default (no AWS account needed)')
    .addHelpText('after', '\nExamples:\n  reef run examples/shop\n  reef run examples/shop --slice shop --from 20260101000000 --to 20260101010000 --json')
    .action(async (dir: string, options: RunOptions) => {
      if (options.timelabel && (options.from || options.to)) {
        throw new Error('--timelabel and --from/--to exclude each other; give one period or one range');
      }
      const flow = await loadFlow(dir);
      const bar = progress();
      bar.update(`starting the local runtime for ${flow.installation.name}…`);
      let done = 0;
      const runtime = await LocalRuntime.start(flow, {
        full: true,
        log: (message, fields) => bar.update(`[${done} batches done] ${fields?.dataset ?? fields?.slice ?? ''} ${message}`),
      });
      try {
        const report = await runFlow(runtime, {
          ...options,
          onOrganize: (o) => {
            done++;
            bar.note(`${o.status.padEnd(9)} ${o.kind === 'load' ? 'load of' : 'view'} ${o.dataset} @ ${o.timelabel}: ${formatCount(o.rows)} rows${o.error ? ` (${o.error.message})` : ''}`);
          },
          onPublish: (p) => {
            done++;
            bar.note(`${p.status.padEnd(9)} publish ${p.publication} (${p.dataset}) @ ${p.timelabel}: ${formatCount(p.rows)} rows${p.error ? ` (${p.error.message})` : ''}`);
          },
          onBatch: (b) => {
            done++;
            bar.note(`${b.status.padEnd(9)} ${b.dataset} @ ${b.timelabel}: ${formatCount(b.rows)} rows in ${b.files} file(s)${b.error ? ` (${b.error.message})` : ''}`);
          },
        });
        bar.done();
        if (options.json) {
          process.stdout.write(JSON.stringify({ ...report, lakePath: runtime.lakePath() }, null, 2) + '\n');
        } else {
          const rows = [['dataset', 'timelabel', 'status', 'rows', 'files', 'bytes']];
          for (const b of report.batches) rows.push([b.dataset, b.timelabel, b.status, formatCount(b.rows), String(b.files), formatBytes(b.bytes)]);
          process.stdout.write(table(rows) + '\n');
          if (report.organized.length > 0) {
            const org = [['warehouse', 'timelabel', 'step', 'status', 'rows']];
            for (const o of report.organized) org.push([o.dataset, o.timelabel, o.kind, o.status, formatCount(o.rows)]);
            process.stdout.write('\n' + table(org) + '\n');
          }
          if (report.published.length > 0) {
            const pub = [['publication', 'dataset', 'timelabel', 'status', 'rows']];
            for (const p of report.published) pub.push([p.publication, p.dataset, p.timelabel, p.status, formatCount(p.rows)]);
            process.stdout.write('\n' + table(pub) + '\n');
          }
          for (const b of [...report.batches, ...report.organized, ...report.published].filter((x) => x.error)) process.stdout.write(`\n${b.dataset} @ ${b.timelabel}: ${b.error!.message}`);
          process.stdout.write(`\nThe data landed in s3://${report.bucket}/<slice>/<table>/timelabel=<T>/ as part-NNNNN.parquet files with a _manifest.json.\n`);
          const sample = report.batches.find((b) => b.status !== 'failed' && b.files > 0);
          if (sample?.manifestKey) {
            // s3rver keeps each object as a file named after its key with this suffix.
            const part = sample.manifestKey.replace(/_manifest\.json$/, 'part-00000.parquet') + '._S3rver_object';
            const path = runtime.lakePath(part);
            const shown = relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path);
            process.stdout.write(`Locally each object is a file; open one with any Parquet reader (DuckDB, pandas, Spark):\n  ${shown}\n`);
          }
          process.stdout.write(`Freshness per table: reef status ${dir}\n`);
        }
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        bar.done();
        await runtime.stop();
      }
    });
}
