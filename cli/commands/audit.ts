import type { Command } from 'commander';
import { TerminalError } from '../../shared/errors.ts';
import { loadFlow } from '../../shared/flow/load.ts';
import { openMetadata } from '../../shared/local/runtime.ts';
import { table } from '../progress.ts';

/** `--since` as a person types it: an ISO date or time; anything Date cannot read is refused here, before the metadata sees it. */
function parseSince(text: string): string {
  const t = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t.getTime())) {
    throw new TerminalError('config', `--since is ${JSON.stringify(text)}; expected an ISO 8601 date or time such as 2026-03-05 or 2026-03-05T09:00:00Z`, { code: 'audit.invalid-since' });
  }
  return t.toISOString();
}

export function register(program: Command): void {
  program
    .command('audit')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--since <T>', 'only actions at or after this ISO 8601 time')
    .option('--json', 'print one JSON object')
    .description("what the vendor's roles did in this installation, allowed or denied, oldest first")
    .addHelpText(
      'after',
      '\nOn the embedded default each action a vendor role takes (`reef vendor-access as …`) is recorded in the\n' +
        "installation's metadata. In AWS the record is CloudTrail (LookupEvents filtered by the vendor role ARNs);\n" +
        'Reef does not query it yet (its SDK client is not among the dependencies): use the CloudTrail console.\n\n' +
        'Example:\n  reef audit examples/shop --since 2026-03-05 --json',
    )
    .action(async (dir: string, options: { since?: string; json?: boolean }) => {
      const since = options.since === undefined ? undefined : parseSince(options.since);
      const flow = await loadFlow(dir);
      const { metadata, close } = await openMetadata(flow);
      const actions = await metadata.listVendorActions({ since }).finally(close);
      if (options.json) {
        process.stdout.write(JSON.stringify({ installation: flow.installation.name, since: since ?? null, actions }, null, 2) + '\n');
        return;
      }
      if (actions.length === 0) {
        process.stdout.write(`${flow.installation.name}: no vendor role acted${since ? ` since ${since}` : ''}\n`);
        return;
      }
      const rows = [['time', 'role', 'action', 'resource', 'outcome']];
      for (const a of actions) rows.push([a.time, a.role, a.action, a.resource, a.allowed ? 'allowed' : 'DENIED']);
      process.stdout.write(table(rows) + '\n');
      for (const a of actions.filter((x) => !x.allowed)) process.stdout.write(`${a.time} ${a.role} ${a.action}: ${a.reason}\n`);
    });
}
