import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { acceptSchemaChange } from '../../shared/local/accept.ts';
import { LocalRuntime } from '../../shared/local/runtime.ts';

export function register(program: Command): void {
  program
    .command('accept')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .argument('<dataset>', 'a collected table (<source>.<table>) paused by schemaPolicy: freeze')
    .option('--json', 'print one JSON object: the dataset, the schema version recorded, from which timelabel, and the changes')
    .description("accept a frozen table's source schema change: record its current schema, so the next run collects the paused periods")
    .addHelpText(
      'after',
      '\nThe source table\'s schema as it is now becomes the registered one (the changes are announced as\n' +
        'column.added, column.dropped… events); then `reef run` collects every paused period, the\n' +
        'first one from the last committed cursor, so no row is lost.\n\n' +
        'Example:\n  reef accept examples/shop shop.customers && reef run examples/shop',
    )
    .action(async (dir: string, dataset: string, options: { json?: boolean }) => {
      const flow = await loadFlow(dir);
      const runtime = await LocalRuntime.start(flow, { full: true });
      try {
        const accepted = await acceptSchemaChange(runtime, dataset);
        if (options.json) {
          process.stdout.write(JSON.stringify(accepted, null, 2) + '\n');
        } else {
          process.stdout.write(
            `Accepted the schema of ${accepted.dataset} (version ${accepted.version}) from ${accepted.since}: ${accepted.changes.join('; ') || 'no column changed'}.\n` +
              `${accepted.paused.length} paused period(s) are collected by the next run: reef run ${dir}\n`,
          );
        }
      } finally {
        await runtime.stop();
      }
    });
}
