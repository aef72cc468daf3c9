/**
 * The upgrade window of a deployed installation: the core stack's
 * VendorUpgradeUntil parameter, read and set through CloudFormation with the
 * customer's own credentials. The parameter is the only record in AWS: IAM
 * compares it with the time on every request of the upgrade role, and
 * CloudTrail records who changed it.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { describeStack, stackParameter, updateStack, type StackUpdateResult } from '../aws/stacks.ts';
import { TerminalError } from '../errors.ts';
import { coreStackId } from '../stack-names.ts';
import { CLOSED_UPGRADE_WINDOW, UPGRADE_WINDOW_PARAMETER } from './access.ts';
import { windowFromParameter, type UpgradeWindowStatus } from './controls.ts';

export interface AwsWindow {
  stack: string;
  parameter: string;
  /** The parameter's value: an ISO 8601 UTC time. */
  value: string;
  window: UpgradeWindowStatus;
}

const DENIED = "your credentials need cloudformation:DescribeStacks and UpdateStack on the core stack, and the IAM permissions to update its vendor roles' policies";

export async function readAwsWindow(cfn: CloudFormationClient, installation: string, now: Date): Promise<AwsWindow> {
  const stack = coreStackId(installation);
  const value = stackParameter(await describeStack(cfn, stack, DENIED), UPGRADE_WINDOW_PARAMETER);
  if (value === undefined) {
    throw new TerminalError('config', `stack ${stack} has no ${UPGRADE_WINDOW_PARAMETER} parameter; expected reef.yaml's vendor section to be deployed (cdk deploy ${stack})`, {
      code: 'vendor.no-window-parameter',
    });
  }
  return { stack, parameter: UPGRADE_WINDOW_PARAMETER, value, window: windowFromParameter(value, now) };
}

/** Seconds are enough for IAM, and a value without milliseconds reads better in the console. */
function untilIn(hours: number, now: Date): string {
  return new Date(now.getTime() + hours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export type WindowChange = AwsWindow & { update: StackUpdateResult };

async function setWindow(cfn: CloudFormationClient, before: AwsWindow, value: string, now: Date, onProgress?: (status: string, seconds: number) => void): Promise<WindowChange> {
  const update = await updateStack(cfn, { stack: before.stack, template: { previous: true }, parameters: { [UPGRADE_WINDOW_PARAMETER]: value }, denied: DENIED, onProgress });
  return { ...before, value, window: windowFromParameter(value, now), update };
}

/** Opens (or replaces) the window: the upgrade role may act for `hours` from now. */
export async function grantAwsWindow(cfn: CloudFormationClient, installation: string, hours: number, now: Date, onProgress?: (status: string, seconds: number) => void): Promise<WindowChange> {
  return setWindow(cfn, await readAwsWindow(cfn, installation, now), untilIn(hours, now), now, onProgress);
}

/** Closes the window now; a window already shut is left as it is (no stack update). */
export async function revokeAwsWindow(cfn: CloudFormationClient, installation: string, now: Date, onProgress?: (status: string, seconds: number) => void): Promise<WindowChange | AwsWindow> {
  const current = await readAwsWindow(cfn, installation, now);
  if (!current.window.open) return current;
  return setWindow(cfn, current, CLOSED_UPGRADE_WINDOW, now, onProgress);
}
