import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { openMetadata } from '../../shared/local/runtime.ts';
import type { UpgradeWindowRecord } from '../../shared/metadata/types.ts';
import {
  actAsVendor,
  awsUpgradeWindowStep,
  describeUpgradeWindow,
  MAX_UPGRADE_HOURS,
  parseHours,
  parseVendorAction,
  parseVendorRole,
  upgradeWindowStatus,
  VENDOR_ACTION_NAMES,
} from '../../shared/vendor/controls.ts';

/** Prints the window's meaning and the AWS step that carries it to IAM; one JSON object with --json. */
function report(installation: string, window: UpgradeWindowRecord | undefined, now: Date, json: boolean | undefined, changed?: boolean): void {
  const status = upgradeWindowStatus(window, now);
  const aws = awsUpgradeWindowStep(installation, status);
  if (json) {
    process.stdout.write(JSON.stringify({ installation, changed, window: status, record: window ?? null, aws }, null, 2) + '\n');
    return;
  }
  if (changed === false) process.stdout.write('No upgrade window was open; nothing changed.\n');
  process.stdout.write(`${installation}: ${describeUpgradeWindow(status)}\n`);
  process.stdout.write(
    `In AWS, IAM enforces it through the core stack's parameter ${aws.parameter}; set it with your own credentials (Reef does not call CloudFormation for you):\n  ${aws.command}\n`,
  );
}

export function register(program: Command): void {
  const group = program
    .command('vendor-access')
    .description("your controls over the vendor's roles: open or close the upgrade window, see it, or act as a vendor role locally")
    .addHelpText('after', '\nExamples:\n  reef vendor-access grant-upgrade examples/shop --hours 4\n  reef vendor-access revoke examples/shop\n  reef vendor-access as monitoring examples/shop status');

  group
    .command('grant-upgrade')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .requiredOption('--hours <N>', `how long the vendor's upgrade role may act, from now: 1 to ${MAX_UPGRADE_HOURS}`)
    .option('--json', 'print one JSON object: the window, its record and the AWS step')
    .description("let the vendor's upgrade role update this installation for N hours (replaces an open window)")
    .action(async (dir: string, options: { hours: string; json?: boolean }) => {
      const hours = parseHours(options.hours);
      const flow = await loadFlow(dir);
      const { metadata, now, close } = await openMetadata(flow);
      const window = await metadata.grantUpgradeWindow(hours).finally(close);
      report(flow.installation.name, window, now(), options.json);
    });

  group
    .command('revoke')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object')
    .description('close the upgrade window now')
    .action(async (dir: string, options: { json?: boolean }) => {
      const flow = await loadFlow(dir);
      const { metadata, now, close } = await openMetadata(flow);
      const { changed, window } = await metadata.revokeUpgradeWindow().finally(close);
      report(flow.installation.name, window, now(), options.json, changed);
    });

  group
    .command('show')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object')
    .description('what the upgrade window allows right now')
    .action(async (dir: string, options: { json?: boolean }) => {
      const flow = await loadFlow(dir);
      const { metadata, now, close } = await openMetadata(flow);
      const window = await metadata.getUpgradeWindow().finally(close);
      report(flow.installation.name, window, now(), options.json);
    });

  group
    .command('as')
    .argument('<role>', 'monitoring, administration or upgrade')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .argument('<action>', VENDOR_ACTION_NAMES.join(', '))
    .option('--json', 'print one JSON object: the audit record and what the role saw')
    .description('embedded default only: act as a vendor role, as the vendor would through its cross-account role; allowed or denied, the attempt is audited (reef audit)')
    .action(async (roleText: string, dir: string, actionText: string, options: { json?: boolean }) => {
      const role = parseVendorRole(roleText);
      const action = parseVendorAction(actionText);
      const flow = await loadFlow(dir);
      const { metadata, now, close } = await openMetadata(flow);
      const result = await actAsVendor({ flow, metadata, now: now() }, role, action).finally(close);
      if (options.json) {
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      } else if (result.record.allowed) {
        process.stdout.write(`allowed: ${result.record.reason}\n${JSON.stringify(result.output, null, 2)}\n`);
      }
      if (!result.record.allowed) {
        process.stderr.write(`reef: denied: ${result.record.reason}\n`);
        process.exitCode = 1;
      }
    });
}
