import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import type { Flow } from '../../shared/flow/types.ts';
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
import { grantAwsWindow, readAwsWindow, revokeAwsWindow, type AwsWindow, type WindowChange } from '../../shared/vendor/window-aws.ts';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { cloudFormationClient, requireVendor, withAwsOptions, type AwsOptions } from '../aws.ts';
import { progress } from '../progress.ts';

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
    `This is the embedded default's record. In AWS, IAM enforces the core stack's parameter ${aws.parameter}: add --aws to set it with your own credentials, or run\n  ${aws.command}\n`,
  );
}

/** The AWS form: what the parameter holds now, and the stack update that set it. */
function reportAws(result: WindowChange | AwsWindow, json: boolean | undefined): void {
  const update = 'update' in result ? result.update : undefined;
  if (json) {
    process.stdout.write(JSON.stringify({ ...result, changed: update?.changed ?? false }, null, 2) + '\n');
    return;
  }
  if (update === undefined) process.stdout.write(`${result.stack}: ${result.parameter} is ${result.value}.\n`);
  else if (!update.changed) process.stdout.write(`${result.stack}: ${result.parameter} was ${result.value} already; nothing changed.\n`);
  else process.stdout.write(`${result.stack}: ${result.parameter} set to ${result.value} (${update.status} after ${update.seconds} s).\n`);
  process.stdout.write(`${describeUpgradeWindow(result.window)}\n`);
}

/** Runs one window change against the deployed core stack, showing CloudFormation's progress. */
async function inAws(flow: Flow, options: AwsOptions & { json?: boolean }, run: (cfn: CloudFormationClient, onProgress: (status: string, seconds: number) => void) => Promise<WindowChange | AwsWindow>): Promise<void> {
  requireVendor(flow, 'the core stack has no vendor roles and no upgrade window');
  const cfn = cloudFormationClient(flow, options);
  const line = progress();
  try {
    reportAws(await run(cfn, (status, seconds) => line.update(`CloudFormation: ${status} (${seconds} s)`)), options.json);
  } finally {
    line.done();
    cfn.destroy();
  }
}

export function register(program: Command): void {
  const group = program
    .command('vendor-access')
    .description("your controls over the vendor's roles: open or close the upgrade window, see it, or act as a vendor role locally")
    .addHelpText('after', '\nExamples:\n  reef vendor-access grant-upgrade examples/shop --hours 4\n  reef vendor-access grant-upgrade my-flow --hours 4 --aws\n  reef vendor-access revoke examples/shop\n  reef vendor-access as monitoring examples/shop status');

  withAwsOptions(group.command('grant-upgrade'), "sets the core stack's VendorUpgradeUntil parameter")
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .requiredOption('--hours <N>', `how long the vendor's upgrade role may act, from now: 1 to ${MAX_UPGRADE_HOURS}`)
    .option('--json', 'print one JSON object: the window and where it is kept (the local record, or with --aws the parameter and its stack update)')
    .description("let the vendor's upgrade role update this installation for N hours (replaces an open window)")
    .action(async (dir: string, options: AwsOptions & { hours: string; json?: boolean }) => {
      const hours = parseHours(options.hours);
      const flow = await loadFlow(dir);
      if (options.aws) return inAws(flow, options, (cfn, onProgress) => grantAwsWindow(cfn, flow.installation.name, hours, new Date(), onProgress));
      const { metadata, now, close } = await openMetadata(flow);
      const window = await metadata.grantUpgradeWindow(hours).finally(close);
      report(flow.installation.name, window, now(), options.json);
    });

  withAwsOptions(group.command('revoke'), "sets the core stack's VendorUpgradeUntil parameter to a past time")
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object')
    .description('close the upgrade window now')
    .action(async (dir: string, options: AwsOptions & { json?: boolean }) => {
      const flow = await loadFlow(dir);
      if (options.aws) return inAws(flow, options, (cfn, onProgress) => revokeAwsWindow(cfn, flow.installation.name, new Date(), onProgress));
      const { metadata, now, close } = await openMetadata(flow);
      const { changed, window } = await metadata.revokeUpgradeWindow().finally(close);
      report(flow.installation.name, window, now(), options.json, changed);
    });

  withAwsOptions(group.command('show'), "reads the core stack's VendorUpgradeUntil parameter")
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print one JSON object')
    .description('what the upgrade window allows right now')
    .action(async (dir: string, options: AwsOptions & { json?: boolean }) => {
      const flow = await loadFlow(dir);
      if (options.aws) return inAws(flow, options, (cfn) => readAwsWindow(cfn, flow.installation.name, new Date()));
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
