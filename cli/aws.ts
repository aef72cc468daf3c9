/**
 * `--aws` and `--region` for the commands that act on a deployed installation
 * with the caller's own credentials (the SDK's default chain: environment,
 * AWS_PROFILE, SSO, instance role).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { Command } from 'commander';
import { TerminalError } from '../shared/errors.ts';
import type { Flow } from '../shared/flow/types.ts';

export interface AwsOptions {
  aws?: boolean;
  region?: string;
}

export function withAwsOptions(command: Command, what: string): Command {
  return command
    .option('--aws', `act on the installation deployed in AWS (${what}) with your own AWS credentials, instead of the embedded default`)
    .option('--region <region>', "with --aws: the installation's region (default: reef.yaml's region, else AWS_REGION or your profile's)");
}

/** reef.yaml's region unless --region says otherwise; neither: the SDK's own chain decides. */
export function awsRegion(flow: Flow, options: AwsOptions): string | undefined {
  return options.region ?? flow.installation.region;
}

/** The vendor's roles exist only when reef.yaml has `vendor`: without it, `what` has nothing to act on. */
export function requireVendor(flow: Flow, what: string): void {
  if (flow.installation.vendor) return;
  throw new TerminalError('config', `${flow.dir}/reef.yaml: vendor: found nothing; expected a vendor section (account, externalId): without it ${what}`, { code: 'vendor.not-configured' });
}

export function cloudFormationClient(flow: Flow, options: AwsOptions): CloudFormationClient {
  return new CloudFormationClient({ region: awsRegion(flow, options) });
}
