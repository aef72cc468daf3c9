/**
 * Test support: the IAM policies of synthesized templates as IAM evaluates
 * them. CloudFormation values are resolved into the concrete ARNs they take
 * in a fixed test account and region (every physical name derived from the
 * logical id, the way an imported value is looked up in the exporting stack),
 * and requests are decided by @cloud-copilot/iam-simulate, a full IAM policy
 * evaluator (Deny before Allow, wildcards, every condition operator), not by
 * hand-written matching.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Template } from 'aws-cdk-lib/assertions';
import { list } from './template-support.ts';

export const TEST_ACCOUNT = '111122223333';
export const TEST_REGION = 'eu-west-1';

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Parameters?: Record<string, { Default?: unknown }>;
}

export class UnresolvableValue extends Error {}

/** Resolves CloudFormation values of a whole installation's templates into literal strings. */
export class TemplateResolver {
  private readonly templates: Map<string, CfnTemplate>;
  private readonly parameters: Record<string, string>;
  private readonly stackParameters: Record<string, Record<string, string>>;

  /**
   * `parameters` overrides template defaults, as a deploy with `--parameters`
   * would; `stackParameters` does so for one stack (by stack name), where
   * several installations' stacks share parameter names.
   */
  constructor(templates: Map<string, Template>, parameters: Record<string, string> = {}, stackParameters: Record<string, Record<string, string>> = {}) {
    this.templates = new Map([...templates].map(([name, t]) => [name, t.toJSON() as CfnTemplate]));
    this.parameters = parameters;
    this.stackParameters = stackParameters;
  }

  stackNames(): string[] {
    return [...this.templates.keys()];
  }

  template(stack: string): CfnTemplate {
    const t = this.templates.get(stack);
    if (!t) throw new UnresolvableValue(`no template ${stack}; expected one of ${this.stackNames().join(', ')}`);
    return t;
  }

  /** A value of `stack`'s template as the literal it becomes when deployed. */
  resolve(stack: string, v: unknown): unknown {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return typeof v === 'string' ? v : String(v);
    if (Array.isArray(v)) return v.map((x) => this.resolve(stack, x));
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = o[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(stack, String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          return this.getAtt(stack, id!, attr!);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolve(stack, parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [i, items] = arg as [number, unknown];
          return (this.resolve(stack, items) as unknown[])[Number(i)];
        }
        case 'Fn::Split': {
          const [sep, s] = arg as [string, unknown];
          return String(this.resolve(stack, s)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
            name in vars ? String(this.resolve(stack, vars[name])) : String(name.includes('.') ? this.getAtt(stack, name.split('.')[0]!, name.split('.').slice(1).join('.')) : this.ref(stack, name)),
          );
        }
        case 'Fn::ImportValue':
          return this.exportedValue(String(this.resolve(stack, arg)));
      }
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, this.resolve(stack, x)]));
  }

  private ref(stack: string, id: string): string {
    switch (id) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return TEST_REGION;
      case 'AWS::AccountId':
        return TEST_ACCOUNT;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack;
    }
    const t = this.template(stack);
    const parameter = t.Parameters?.[id];
    if (parameter) {
      const value = this.stackParameters[stack]?.[id] ?? this.parameters[id] ?? parameter.Default;
      if (value === undefined) throw new UnresolvableValue(`${stack}: parameter ${id} has no value; expected a default or an override`);
      return String(value);
    }
    const r = this.resource(stack, id);
    switch (r.Type) {
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SecretsManager::Secret':
      case 'AWS::SNS::Topic':
        return this.getAtt(stack, id, 'Arn');
      default:
        return this.physicalName(stack, id);
    }
  }

  private resource(stack: string, id: string): CfnResource {
    const r = this.template(stack).Resources[id];
    if (!r) throw new UnresolvableValue(`${stack}: no resource ${id}; expected a logical id of that template`);
    return r;
  }

  /** The explicit name a template gives, else one derived from the logical id (lower case where AWS requires it). */
  private physicalName(stack: string, id: string): string {
    const r = this.resource(stack, id);
    const p = r.Properties ?? {};
    const explicit = p['RoleName'] ?? p['FunctionName'] ?? p['TableName'] ?? p['BucketName'] ?? p['LogGroupName'] ?? p['StateMachineName'] ?? p['Name'] ?? p['TopicName'];
    if (explicit !== undefined) return String(this.resolve(stack, explicit));
    return r.Type === 'AWS::S3::Bucket' ? `${stack}-${id}`.toLowerCase() : `${stack}-${id}`;
  }

  private getAtt(stack: string, id: string, attr: string): string {
    const r = this.resource(stack, id);
    const name = this.physicalName(stack, id);
    const at = `${TEST_REGION}:${TEST_ACCOUNT}`;
    if (attr === 'Name') return name;
    if (attr !== 'Arn') throw new UnresolvableValue(`${stack}: ${id}.${attr} (${r.Type}); expected Arn or Name`);
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${TEST_ACCOUNT}:role/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${at}:function:${name}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${at}:table/${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${at}:key/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${at}:log-group:${name}:*`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${at}:stateMachine:${name}`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${at}:event-bus/${name}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${at}:secret:${name}-AbCdEf`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${at}:${name}`;
      default:
        throw new UnresolvableValue(`${stack}: ${id}.Arn of a ${r.Type}; expected a resource type the resolver knows`);
    }
  }

  /** The value a stack exports under `name`, as `Fn::ImportValue` gets it. */
  exportedValue(name: string): unknown {
    for (const stack of this.stackNames()) {
      for (const o of Object.values(this.template(stack).Outputs ?? {})) {
        if (o.Export !== undefined && this.resolve(stack, o.Export.Name) === name) return this.resolve(stack, o.Value);
      }
    }
    throw new UnresolvableValue(`import ${name}: no stack exports it; expected one of the installation's templates to`);
  }

  /** The logical id and stack of the role named `roleName` (an explicit RoleName). */
  findRole(roleName: string): { stack: string; id: string } {
    for (const stack of this.stackNames()) {
      for (const [id, r] of Object.entries(this.template(stack).Resources)) {
        if (r.Type === 'AWS::IAM::Role' && this.physicalName(stack, id) === roleName) return { stack, id };
      }
    }
    throw new UnresolvableValue(`no role named ${roleName} in ${this.stackNames().join(', ')}`);
  }

  /**
   * Every identity policy of a role, from every template, resolved: the role's
   * inline policies and each AWS::IAM::Policy that names it (by Ref in its own
   * stack, by name in another). A managed policy is refused: its content is
   * not in any template, so nothing could be proven about it.
   */
  rolePolicies(stack: string, id: string): PolicyDocument[] {
    const role = this.resource(stack, id);
    if (role.Type !== 'AWS::IAM::Role') throw new UnresolvableValue(`${stack}: ${id} is a ${role.Type}; expected an AWS::IAM::Role`);
    const props = role.Properties ?? {};
    if (props['ManagedPolicyArns'] !== undefined) throw new UnresolvableValue(`${stack}: ${id} has managed policies; expected only policies written in the templates`);
    const name = this.physicalName(stack, id);
    const documents = list((props['Policies'] ?? []) as Array<{ PolicyDocument: unknown }>).map((p) => this.resolve(stack, p.PolicyDocument) as PolicyDocument);
    for (const s of this.stackNames()) {
      for (const r of Object.values(this.template(s).Resources)) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        const roles = list((r.Properties?.['Roles'] ?? []) as unknown[]).map((x) => this.resolve(s, x));
        if (roles.includes(name)) documents.push(this.resolve(s, r.Properties!['PolicyDocument']) as PolicyDocument);
      }
    }
    return documents;
  }

  /** The role's permissions boundary (a managed policy of its own stack), if it has one. */
  roleBoundary(stack: string, id: string): PolicyDocument | undefined {
    const boundary = this.resource(stack, id).Properties?.['PermissionsBoundary'] as { Ref?: string } | undefined;
    if (boundary === undefined) return undefined;
    const policy = boundary.Ref === undefined ? undefined : this.template(stack).Resources[boundary.Ref];
    if (policy?.Type !== 'AWS::IAM::ManagedPolicy') throw new UnresolvableValue(`${stack}: ${id}'s permissions boundary is not a managed policy of the same template; expected a Ref to one`);
    return this.resolve(stack, policy.Properties!['PolicyDocument']) as PolicyDocument;
  }

  trustPolicy(stack: string, id: string): PolicyDocument {
    return this.resolve(stack, this.resource(stack, id).Properties!['AssumeRolePolicyDocument']) as PolicyDocument;
  }

  roleArn(stack: string, id: string): string {
    return this.getAtt(stack, id, 'Arn');
  }
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Request {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** IAM's decision on a request of `principal` under these identity policies (and a resource policy, and a permissions boundary). */
export async function decide(principal: string, identityPolicies: PolicyDocument[], request: Request, resourcePolicy?: PolicyDocument, boundary?: PolicyDocument): Promise<Decision> {
  const simulation: Simulation = {
    request: {
      principal,
      action: request.action,
      resource: { resource: request.resource, accountId: TEST_ACCOUNT },
      contextVariables: request.context ?? {},
    },
    identityPolicies: identityPolicies.map((policy, i) => ({ name: `policy${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    permissionBoundaryPolicies: boundary && [{ name: 'boundary', policy: boundary }],
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') {
    throw new Error(`simulating ${request.action} on ${request.resource}: the simulator refused the input: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}

/** The same policies without their Deny statements: what the Allows alone grant. */
export function allowsOnly(policies: PolicyDocument[]): PolicyDocument[] {
  return policies.map((p) => ({ ...p, Statement: list(p.Statement).filter((s) => s.Effect === 'Allow') }));
}
