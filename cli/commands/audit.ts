import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { awsCall } from '../../shared/aws/errors.ts';
import { TerminalError } from '../../shared/errors.ts';
import { loadFlow } from '../../shared/flow/load.ts';
import type { Flow } from '../../shared/flow/types.ts';
import { openMetadata } from '../../shared/local/runtime.ts';
import type { VendorActionRecord } from '../../shared/metadata/types.ts';
import { vendorActionsFromCloudTrail } from '../../shared/vendor/cloudtrail-audit.ts';
import { awsRegion, requireVendor, withAwsOptions, type AwsOptions } from '../aws.ts';
import { table } from '../progress.ts';

/** In AWS, without --since: the last week (the event history keeps 90 days; each lookup page costs half a second). */
const AWS_DEFAULT_DAYS = 7;

/** `--since` as a person types it: an ISO date or time; anything Date cannot read is refused here, before the metadata sees it. */
function parseSince(text: string): Date {
  const t = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t.getTime())) {
    throw new TerminalError('config', `--since is ${JSON.stringify(text)}; expected an ISO 8601 date or time such as 2026-03-05 or 2026-03-05T09:00:00Z`, { code: 'audit.invalid-since' });
  }
  return t;
}

function print(installation: string, since: string | undefined, actions: VendorActionRecord[], where: string): void {
  if (actions.length === 0) {
    process.stdout.write(`${installation}: no vendor role acted${since ? ` since ${since}` : ''} (${where})\n`);
    return;
  }
  const rows = [['time', 'role', 'action', 'resource', 'outcome']];
  for (const a of actions) rows.push([a.time, a.role, a.action, a.resource, a.allowed ? 'allowed' : 'DENIED']);
  process.stdout.write(table(rows) + '\n');
  for (const a of actions.filter((x) => !x.allowed)) process.stdout.write(`${a.time} ${a.role} ${a.action}: ${a.reason}\n`);
  process.stdout.write(`${actions.length} action(s) from ${where}.\n`);
}

/** reef.yaml's account, else the account the caller's credentials belong to (the customer audits their own). */
async function accountOf(flow: Flow, region: string | undefined): Promise<string> {
  if (flow.installation.account) return flow.installation.account;
  const sts = new STSClient({ region });
  try {
    const me = await awsCall('STS GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
    return me.Account!;
  } finally {
    sts.destroy();
  }
}

async function auditAws(flow: Flow, options: AwsOptions & { since?: string; json?: boolean }): Promise<void> {
  requireVendor(flow, 'the installation has no vendor roles to audit');
  const now = new Date();
  const since = options.since === undefined ? new Date(now.getTime() - AWS_DEFAULT_DAYS * 86_400_000) : parseSince(options.since);
  const region = awsRegion(flow, options);
  const trail = new CloudTrailClient({ region });
  try {
    const account = await accountOf(flow, region);
    const audit = await vendorActionsFromCloudTrail(trail, { installation: flow.installation.name, account, region: region ?? (await trail.config.region()), since, now });
    if (options.json) {
      process.stdout.write(JSON.stringify({ installation: flow.installation.name, source: 'cloudtrail', account, ...audit }, null, 2) + '\n');
      return;
    }
    print(flow.installation.name, audit.since, audit.actions, `CloudTrail event history in ${account} ${audit.region}, ${audit.sessions} vendor session(s)`);
  } finally {
    trail.destroy();
  }
}

export function register(program: Command): void {
  withAwsOptions(program.command('audit'), 'reads CloudTrail event history')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--since <T>', `only actions at or after this ISO 8601 time (with --aws the default is ${AWS_DEFAULT_DAYS} days ago)`)
    .option('--json', 'print one JSON object')
    .description("what the vendor's roles did in this installation, allowed or denied, oldest first")
    .addHelpText(
      'after',
      '\nOn the embedded default each action a vendor role takes (`reef vendor-access as …`) is recorded in the\n' +
        "installation's metadata. With --aws the record is CloudTrail's event history (90 days, management events):\n" +
        "every AssumeRole of a vendor role, refused ones included (a closed upgrade window, a wrong external id),\n" +
        'then every call made with the keys those sessions received. Your credentials need cloudtrail:LookupEvents\n' +
        '(and sts:GetCallerIdentity when reef.yaml names no account). Reads of lake objects are data events, not in\n' +
        'the event history: a trail with S3 data events on the lake bucket records those.\n\n' +
        'Examples:\n  reef audit examples/shop --since 2026-03-05 --json\n  reef audit my-flow --aws --since 2026-03-01',
    )
    .action(async (dir: string, options: AwsOptions & { since?: string; json?: boolean }) => {
      const flow = await loadFlow(dir);
      if (options.aws) return auditAws(flow, options);
      const since = options.since === undefined ? undefined : parseSince(options.since).toISOString();
      const { metadata, close } = await openMetadata(flow);
      const actions = await metadata.listVendorActions({ since }).finally(close);
      if (options.json) {
        process.stdout.write(JSON.stringify({ installation: flow.installation.name, since: since ?? null, actions }, null, 2) + '\n');
        return;
      }
      print(flow.installation.name, since, actions, "the embedded default's records");
    });
}
