/**
 * What the infrastructure tests share: synthesizing an app exactly as
 * `cdk synth` does (cdk.json's feature flags, cdk-nag on, bundling off: the
 * tests are about templates, and bundles are tested on their own), reading
 * CloudFormation values as text, and judging IAM statements the way IAM does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Construct } from 'constructs';
import { addNagChecks } from './installation.ts';

const CDK_JSON = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { app: string; context: Record<string, unknown> };

export interface Synthesized {
  app: App;
  templates: Map<string, Template>;
  stacks: Map<string, Stack>;
  report: { pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; severity: string; violatingConstructs: Array<{ constructPath: string }> }> }> };
  synthError?: unknown;
}

export function synth(build: (app: App) => Stack[]): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'reef-infra-test-'));
  const flags = Object.fromEntries(Object.entries(CDK_JSON.context).filter(([k]) => k !== 'flow'));
  const app = new App({ outdir, context: { ...flags, 'aws:cdk:bundling-stacks': [] } });
  const stacks = build(app);
  addNagChecks(app);
  let synthError: unknown;
  let assembly;
  try {
    assembly = app.synth();
  } catch (e) {
    // Nag errors make synth throw; the report on disk says which.
    synthError = e;
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Synthesized['report'];
  const templates = new Map<string, Template>();
  if (assembly) for (const s of stacks) templates.set(s.stackName, Template.fromJSON(assembly.getStackByName(s.stackName).template));
  return { app, templates, stacks: new Map(stacks.map((s) => [s.stackName, s])), report, synthError };
}

/** Every finding of every nag pack, one line each: what must be empty. */
export function nagFindings(s: Synthesized): string[] {
  return s.report.pluginReports.flatMap((r) => r.violations.map((v) => `${r.pluginName} ${v.severity} ${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`));
}

/** Every acknowledgement in the app, with where it was made and why. */
export function acknowledgements(app: App): Array<{ path: string; id: string; reason: string }> {
  const acks: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) acks.push({ path: c.node.path, id, reason });
    }
  }
  return acks;
}

/** The logical id of an L1 resource, or of an L2 construct's resource. */
export function logicalId(c: Construct): string {
  return Stack.of(c).getLogicalId(c instanceof CfnElement ? c : (c.node.defaultChild as CfnElement));
}

/** A CloudFormation value as text: Fn::Join joined, references as `<Id.Attr>`, imports as `import:<name>`. */
export function flat(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(sep);
  }
  if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o['Ref'] !== undefined) return `<${String(o['Ref'])}>`;
  if (o['Fn::ImportValue'] !== undefined) return `import:${flat(o['Fn::ImportValue'])}`;
  return JSON.stringify(v);
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** The Allow statements of every policy attached to a role, which must have no inline policies beside them. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  assert.ok(Object.keys(policies).length > 0, `no policy on ${roleId}`);
  const role = template.toJSON().Resources[roleId] as { Properties: { Policies?: unknown } };
  assert.equal(role.Properties.Policies, undefined, `${roleId}: no inline policies beside the default policy`);
  return Object.values(policies)
    .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement)
    .filter((s) => s.Effect === 'Allow');
}

/** IAM's StringLike: `*` any run of characters, `?` exactly one. */
export function iamLike(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(value);
}

/** Whether the statement lets DynamoDB requests on a given partition key through its LeadingKeys condition. */
export function allowsPartition(s: Statement, pk: string): boolean {
  const c = s.Condition ?? {};
  const like = c['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
  const equals = c['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys'];
  assert.ok(like !== undefined || equals !== undefined, `DynamoDB statement ${s.Sid} without a LeadingKeys condition`);
  return list(like ?? []).some((p) => iamLike(String(p), pk)) || list(equals ?? []).some((p) => p === pk);
}

/** Whether any statement allows `action` on the DynamoDB partition `pk`. */
export function canOnPartition(statements: Statement[], action: string, pk: string): boolean {
  return statements.some((s) => list(s.Action).includes(action) && allowsPartition(s, pk));
}

/** Whether any statement allows `action` on an object key, judged by its resource patterns. */
export function canOnObject(statements: Statement[], action: string, objectArn: string): boolean {
  return statements.some((s) => list(s.Action).includes(action) && list(s.Resource).map(flat).some((r) => iamLike(r, objectArn)));
}
