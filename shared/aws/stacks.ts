/**
 * Updating one deployed stack the way `cdk deploy` would leave it: every
 * parameter keeps its previous value unless named, the tags are kept (none
 * are sent), and the call returns only when CloudFormation has finished,
 * saying what went wrong when it rolled back.
 */
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type Parameter,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { TerminalError } from '../errors.ts';
import { awsCall, mapAwsError } from './errors.ts';

export interface StackUpdate {
  stack: string;
  /** The template: the deployed one, or a new one at an S3 URL. */
  template: { previous: true } | { url: string };
  /** Parameters to change; every other keeps its previous value. */
  parameters?: Record<string, string>;
  /** What a refusal by IAM means to the person running it. */
  denied?: string;
  /** Each status CloudFormation reports, as it changes. */
  onProgress?: (status: string, seconds: number) => void;
}

export interface StackUpdateResult {
  /** False when CloudFormation found nothing to change. */
  changed: boolean;
  status: string;
  seconds: number;
}

const DONE = new Set(['UPDATE_COMPLETE']);
const FAILED = new Set(['UPDATE_ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_FAILED', 'UPDATE_FAILED', 'ROLLBACK_COMPLETE', 'ROLLBACK_FAILED']);
/** An update normally takes seconds to minutes; a stuck one is reported rather than waited on forever. */
const MAX_WAIT_MS = 60 * 60_000;

export async function describeStack(cfn: CloudFormationClient, stack: string, denied?: string): Promise<Stack> {
  const out = await awsCall(`CloudFormation DescribeStacks ${stack}`, () => cfn.send(new DescribeStacksCommand({ StackName: stack })), denied);
  const found = out.Stacks?.[0];
  if (!found) throw new TerminalError('target', `stack ${stack} was not found; expected it deployed (cdk deploy)`, { code: 'aws.stack-missing' });
  return found;
}

export function stackParameter(stack: Stack, name: string): string | undefined {
  return stack.Parameters?.find((p) => p.ParameterKey === name)?.ParameterValue;
}

export async function updateStack(cfn: CloudFormationClient, update: StackUpdate): Promise<StackUpdateResult> {
  const call = `CloudFormation UpdateStack ${update.stack}`;
  const current = await describeStack(cfn, update.stack, update.denied);
  const overrides = update.parameters ?? {};
  const parameters: Parameter[] = (current.Parameters ?? []).map((p) =>
    p.ParameterKey! in overrides ? { ParameterKey: p.ParameterKey, ParameterValue: overrides[p.ParameterKey!] } : { ParameterKey: p.ParameterKey, UsePreviousValue: true },
  );
  for (const [key, value] of Object.entries(overrides)) {
    if (!parameters.some((p) => p.ParameterKey === key)) parameters.push({ ParameterKey: key, ParameterValue: value });
  }
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  try {
    await cfn.send(
      new UpdateStackCommand({
        StackName: update.stack,
        ...('url' in update.template ? { TemplateURL: update.template.url } : { UsePreviousTemplate: true }),
        Parameters: parameters,
        // Reef's stacks name their IAM roles; CloudFormation refuses the update without these.
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      }),
    );
  } catch (e) {
    if (e instanceof Error && e.name === 'ValidationError' && /No updates are to be performed/.test(e.message)) return { changed: false, status: current.StackStatus ?? 'UNKNOWN', seconds: seconds() };
    throw mapAwsError(call, e, update.denied);
  }
  const status = await waitForStack(cfn, update.stack, started, (s) => update.onProgress?.(s, seconds()));
  return { changed: true, status, seconds: seconds() };
}

/** Polls until the update ends: quickly at first (a parameter change takes seconds), then every 5 s. */
async function waitForStack(cfn: CloudFormationClient, stack: string, since: number, onStatus: (status: string) => void): Promise<string> {
  let delay = 250;
  let last = '';
  for (;;) {
    await new Promise((ok) => setTimeout(ok, delay));
    delay = Math.min(delay * 2, 5000);
    const status = (await describeStack(cfn, stack)).StackStatus ?? 'UNKNOWN';
    if (status !== last) onStatus(status);
    last = status;
    if (DONE.has(status)) return status;
    if (FAILED.has(status)) throw new TerminalError('target', `${stack}: the update ended ${status}: ${await firstFailure(cfn, stack, since)}`, { code: 'aws.stack-update-failed' });
    if (Date.now() - since > MAX_WAIT_MS) {
      throw new TerminalError('target', `${stack} is still ${status} after ${MAX_WAIT_MS / 60_000} minutes; expected the update to finish, see the stack's events in the CloudFormation console`, { code: 'aws.stack-update-stuck' });
    }
  }
}

/** The first resource that failed in this update: what a person needs to know. */
async function firstFailure(cfn: CloudFormationClient, stack: string, since: number): Promise<string> {
  const out = await awsCall(`CloudFormation DescribeStackEvents ${stack}`, () => cfn.send(new DescribeStackEventsCommand({ StackName: stack })));
  const failed = (out.StackEvents ?? [])
    .filter((e) => e.Timestamp !== undefined && e.Timestamp.getTime() >= since - 1000 && /_FAILED$/.test(e.ResourceStatus ?? ''))
    .sort((a, b) => a.Timestamp!.getTime() - b.Timestamp!.getTime())[0];
  return failed ? `${failed.LogicalResourceId} (${failed.ResourceType}) ${failed.ResourceStatus}: ${failed.ResourceStatusReason ?? 'no reason given'}` : 'no failed resource reported';
}
