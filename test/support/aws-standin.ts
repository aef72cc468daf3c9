/**
 * Test support: one AWS account's CloudFormation, STS and CloudTrail, served
 * over HTTP to the real SDK clients (and so to the real `reef` CLI, through
 * the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables).
 *
 * Why hand-written: no stand-in for these three services runs here (the known
 * ones need Docker or Python), and the parts Reef uses are small. What it keeps
 * real is what the tests are about:
 * - the stacks hold the synthesized templates, their parameters (validated
 *   against AllowedPattern) and tags; an update runs asynchronously
 *   (UPDATE_IN_PROGRESS, then UPDATE_COMPLETE or a rollback);
 * - every request is authorized by IAM's rules over the deployed templates'
 *   own policies (infra/policy-simulation.ts, a full policy evaluator): an
 *   AssumeRole by the role's trust policy with the stack's current
 *   `VendorUpgradeUntil`, an assumed role's calls by that role's policies;
 * - every call, allowed or denied, is a CloudTrail event that LookupEvents
 *   returns, paged.
 * What it does not do: verify SigV4 signatures (the access key id names the
 * caller), create or delete stacks, or check the permissions CloudFormation
 * itself would need to change the resources of an update.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Template } from 'aws-cdk-lib/assertions';
import { decide, TemplateResolver, TEST_ACCOUNT, TEST_REGION, UnresolvableValue, type PolicyDocument } from '../../infra/policy-simulation.ts';

interface CfnTemplateJson {
  Parameters?: Record<string, { Default?: string; AllowedPattern?: string }>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

interface StackEvent {
  EventId: string;
  LogicalResourceId: string;
  ResourceType: string;
  Timestamp: string;
  ResourceStatus: string;
  ResourceStatusReason?: string;
}

interface StandinStack {
  name: string;
  id: string;
  status: string;
  statusReason?: string;
  template: CfnTemplateJson;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  events: StackEvent[];
  created: string;
}

/** A caller with long-term keys: a person of the customer or an operator of the vendor. */
export interface StandinPrincipal {
  arn: string;
  policies: PolicyDocument[];
}

interface Session {
  roleArn: string;
  roleName: string;
  arn: string;
  stack: string;
  logicalId: string;
}

/** A CloudTrail event as LookupEvents returns it (CloudTrailEvent is its JSON). */
export interface TrailEvent {
  EventId: string;
  EventName: string;
  EventSource: string;
  EventTime: number;
  AccessKeyId: string;
  Username: string;
  ReadOnly: string;
  Resources: { ResourceType: string; ResourceName: string }[];
  CloudTrailEvent: string;
}

/** Stops an update: the stack rolls back with this reason on this resource. */
export interface UpdateFault {
  logicalId: string;
  reason: string;
}

export interface AwsStandinOptions {
  /** Long-term access key id → who holds it. */
  principals: Record<string, StandinPrincipal>;
  now?: () => Date;
  /** Consulted on each update: a fault makes it roll back. */
  updateFault?: (stack: string, template: CfnTemplateJson) => UpdateFault | undefined;
  /** How long an update stays in progress. */
  updateMs?: number;
}

class AwsFault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const ALLOW_ALL: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
/** The customer's administrator: their own account, all of it. */
export const customerAdmin = (): StandinPrincipal => ({ arn: `arn:aws:iam::${TEST_ACCOUNT}:user/admin`, policies: [ALLOW_ALL] });
/** The vendor's operator: may ask to assume anything; the customer's trust policies decide. */
export const vendorOperator = (vendorAccount: string): StandinPrincipal => ({
  arn: `arn:aws:iam::${vendorAccount}:role/reef-operations`,
  policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }],
});

const COMPLETE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE']);

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Query-protocol XML: arrays become `<member>` lists. */
function xml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => `<member>${xml(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${xml(v)}</${k}>`)
      .join('');
  }
  return escapeXml(String(value));
}

/** `Parameters.member.1.ParameterKey=…` → [{ ParameterKey: … }]; `Capabilities.member.1=…` → ['…']. */
function members(form: URLSearchParams, name: string): Array<Record<string, string>> | string[] {
  const byIndex = new Map<number, Record<string, string> | string>();
  for (const [k, v] of form) {
    const m = new RegExp(`^${name}\\.member\\.(\\d+)(?:\\.(\\w+))?$`).exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    if (m[2] === undefined) byIndex.set(i, v);
    else byIndex.set(i, { ...((byIndex.get(i) as Record<string, string> | undefined) ?? {}), [m[2]]: v });
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, v]) => v) as Array<Record<string, string>> | string[];
}

export class AwsStandin {
  readonly account = TEST_ACCOUNT;
  readonly region = TEST_REGION;
  readonly trail: TrailEvent[] = [];
  private readonly stacks = new Map<string, StandinStack>();
  private readonly sessions = new Map<string, Session>();
  private readonly options: AwsStandinOptions;
  private readonly now: () => Date;
  private server?: Server;
  endpoint = '';

  constructor(options: AwsStandinOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  /** Stacks as a first `cdk deploy` leaves them: CREATE_COMPLETE, parameters at their defaults, no stack tags. */
  deploy(templates: Map<string, Template>): void {
    for (const [name, t] of templates) {
      const template = t.toJSON() as CfnTemplateJson;
      const params = Object.fromEntries(Object.entries(template.Parameters ?? {}).map(([k, p]) => [k, String(p.Default ?? '')]));
      const created = this.now().toISOString();
      this.stacks.set(name, {
        name,
        id: `arn:aws:cloudformation:${TEST_REGION}:${TEST_ACCOUNT}:stack/${name}/${randomUUID()}`,
        status: 'CREATE_COMPLETE',
        template,
        parameters: params,
        tags: {},
        events: [{ EventId: randomUUID(), LogicalResourceId: name, ResourceType: 'AWS::CloudFormation::Stack', Timestamp: created, ResourceStatus: 'CREATE_COMPLETE' }],
        created,
      });
    }
  }

  stack(name: string): StandinStack {
    const s = this.stacks.get(name);
    if (!s) throw new Error(`no stack ${name}`);
    return s;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  close(): Promise<void> {
    return new Promise((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  /** What a CLI process needs to reach this account as the holder of `accessKeyId`. */
  env(accessKeyId: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_CLOUDFORMATION: this.endpoint,
      AWS_ENDPOINT_URL_STS: this.endpoint,
      AWS_ENDPOINT_URL_CLOUDTRAIL: this.endpoint,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'standin-secret',
      AWS_REGION: TEST_REGION,
      // Neither a profile nor instance metadata may stand in for the keys above.
      AWS_PROFILE: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }

  private resolver(): TemplateResolver {
    const templates = new Map([...this.stacks.values()].map((s) => [s.name, Template.fromJSON(s.template as unknown as Record<string, unknown>)]));
    return new TemplateResolver(templates, {}, Object.fromEntries([...this.stacks.values()].map((s) => [s.name, s.parameters])));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const accessKeyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const target = req.headers['x-amz-target'];
    try {
      if (typeof target === 'string') {
        const out = await this.cloudTrail(accessKeyId, target, JSON.parse(body || '{}') as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(out));
        return;
      }
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      const out = await this.query(accessKeyId, action, form);
      // AssumeRole and UpdateStack record themselves, with what they returned.
      if (action !== 'AssumeRole' && action !== 'UpdateStack') {
        const name = form.get('StackName');
        const stack = name ? [...this.stacks.values()].find((x) => x.name === name || x.id === name) : undefined;
        this.record(accessKeyId, action === 'GetCallerIdentity' ? 'sts.amazonaws.com' : 'cloudformation.amazonaws.com', action, stack ? [{ ResourceType: 'AWS::CloudFormation::Stack', ResourceName: stack.id }] : [], {});
      }
      const ns = action === 'AssumeRole' || action === 'GetCallerIdentity' ? 'https://sts.amazonaws.com/doc/2011-06-15/' : 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(`<${action}Response xmlns="${ns}"><${action}Result>${xml(out)}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`);
    } catch (e) {
      const f = e instanceof AwsFault ? e : new AwsFault('InternalFailure', (e as Error).message, 500);
      if (typeof target === 'string') {
        res.writeHead(f.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': f.code }).end(JSON.stringify({ __type: f.code, message: f.message }));
      } else {
        res
          .writeHead(f.status, { 'content-type': 'text/xml' })
          .end(`<ErrorResponse><Error><Type>Sender</Type><Code>${f.code}</Code><Message>${escapeXml(f.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
      }
    }
  }

  /** The caller's ARN and policies: a long-term key's holder, or an assumed role with its policies as deployed now. */
  private caller(accessKeyId: string): { arn: string; username: string; policies: PolicyDocument[]; boundary?: PolicyDocument; session?: Session } {
    const principal = this.options.principals[accessKeyId];
    if (principal) return { arn: principal.arn, username: principal.arn.split('/').at(-1)!, policies: principal.policies };
    const session = this.sessions.get(accessKeyId);
    if (!session) throw new AwsFault('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    const resolver = this.resolver();
    return { arn: session.arn, username: session.roleName, policies: resolver.rolePolicies(session.stack, session.logicalId), boundary: resolver.roleBoundary(session.stack, session.logicalId), session };
  }

  private record(accessKeyId: string, source: string, name: string, resources: TrailEvent['Resources'], detail: { errorCode?: string; errorMessage?: string; requestParameters?: unknown; responseElements?: unknown }): void {
    const time = this.now();
    let identity: Record<string, unknown> = { type: 'Unknown', accessKeyId };
    let username = accessKeyId;
    try {
      const c = this.caller(accessKeyId);
      username = c.username;
      identity = c.session
        ? { type: 'AssumedRole', arn: c.arn, accountId: TEST_ACCOUNT, accessKeyId, sessionContext: { sessionIssuer: { type: 'Role', arn: c.session.roleArn, userName: c.session.roleName, accountId: TEST_ACCOUNT } } }
        : { type: c.arn.includes(':user/') ? 'IAMUser' : 'AssumedRole', arn: c.arn, accountId: c.arn.split(':')[4], accessKeyId };
    } catch {
      // An unknown key is still recorded, as CloudTrail records a call it refused.
    }
    const event = { eventVersion: '1.09', eventTime: time.toISOString(), eventSource: source, eventName: name, awsRegion: TEST_REGION, userIdentity: identity, ...detail, eventID: randomUUID(), recipientAccountId: TEST_ACCOUNT };
    this.trail.push({
      EventId: event.eventID,
      EventName: name,
      EventSource: source,
      EventTime: time.getTime() / 1000,
      AccessKeyId: accessKeyId,
      Username: username,
      ReadOnly: String(/^(Describe|List|Get|Lookup)/.test(name)),
      Resources: resources,
      CloudTrailEvent: JSON.stringify(event),
    });
  }

  /** IAM's decision on the caller's identity policies; a denial is recorded and thrown as AccessDenied. */
  private async authorize(accessKeyId: string, source: string, name: string, action: string, resource: string, form?: URLSearchParams): Promise<void> {
    const c = this.caller(accessKeyId);
    const decision = await decide(c.arn, c.policies, { action, resource, context: { 'aws:CurrentTime': this.now().toISOString() } }, undefined, c.boundary);
    if (decision === 'Allowed') return;
    const message = `User: ${c.arn} is not authorized to perform: ${action} on resource: ${resource}${decision === 'ExplicitlyDenied' ? ' with an explicit deny in an identity-based policy' : ' because no identity-based policy allows the ' + action + ' action'}`;
    this.record(accessKeyId, source, name, resource === '*' ? [] : [{ ResourceType: 'AWS::CloudFormation::Stack', ResourceName: resource }], {
      errorCode: 'AccessDenied',
      errorMessage: message,
      requestParameters: form ? Object.fromEntries([...form].filter(([k]) => !['Action', 'Version'].includes(k))) : undefined,
    });
    throw new AwsFault('AccessDenied', message, 403);
  }

  private async query(key: string, action: string, form: URLSearchParams): Promise<unknown> {
    switch (action) {
      case 'GetCallerIdentity': {
        const c = this.caller(key);
        return { Account: TEST_ACCOUNT, Arn: c.arn, UserId: key };
      }
      case 'AssumeRole':
        return this.assumeRole(key, form);
      case 'DescribeStacks':
      case 'DescribeStackEvents':
      case 'UpdateStack': {
        const name = form.get('StackName') ?? '';
        if (action === 'DescribeStacks' && name === '') {
          await this.authorize(key, 'cloudformation.amazonaws.com', action, 'cloudformation:DescribeStacks', '*');
          return { Stacks: [...this.stacks.values()].map((s) => this.describe(s)) };
        }
        const s = [...this.stacks.values()].find((x) => x.name === name || x.id === name);
        const arn = s?.id ?? `arn:aws:cloudformation:${TEST_REGION}:${TEST_ACCOUNT}:stack/${name}/*`;
        await this.authorize(key, 'cloudformation.amazonaws.com', action, `cloudformation:${action}`, arn, form);
        if (!s) throw new AwsFault('ValidationError', `Stack with id ${name} does not exist`);
        if (action === 'DescribeStacks') return { Stacks: [this.describe(s)] };
        if (action === 'DescribeStackEvents') return { StackEvents: [...s.events].reverse().map((e) => ({ StackId: s.id, StackName: s.name, ...e })) };
        return this.update(key, s, form);
      }
      case 'ListStacks': {
        await this.authorize(key, 'cloudformation.amazonaws.com', action, 'cloudformation:ListStacks', '*');
        const filter = members(form, 'StackStatusFilter') as string[];
        const stacks = [...this.stacks.values()].filter((s) => filter.length === 0 || filter.includes(s.status));
        return { StackSummaries: stacks.map((s) => ({ StackId: s.id, StackName: s.name, StackStatus: s.status, CreationTime: s.created })) };
      }
      default:
        throw new AwsFault('InvalidAction', `The action ${action} is not valid for this web service (the test stand-in serves a few).`);
    }
  }

  private describe(s: StandinStack): Record<string, unknown> {
    const resolver = this.resolver();
    const outputs = Object.entries(s.template.Outputs ?? {}).flatMap(([key, o]) => {
      try {
        return [{ OutputKey: key, OutputValue: String(resolver.resolve(s.name, o.Value)), ExportName: o.Export ? String(resolver.resolve(s.name, o.Export.Name)) : undefined }];
      } catch (e) {
        if (e instanceof UnresolvableValue) return [];
        throw e;
      }
    });
    return {
      StackId: s.id,
      StackName: s.name,
      CreationTime: s.created,
      StackStatus: s.status,
      StackStatusReason: s.statusReason,
      Parameters: Object.entries(s.parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
      Outputs: outputs,
      Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
    };
  }

  private async update(key: string, s: StandinStack, form: URLSearchParams): Promise<unknown> {
    if (!COMPLETE.has(s.status)) throw new AwsFault('ValidationError', `Stack:${s.id} is in ${s.status} state and can not be updated.`);
    let template = s.template;
    const url = form.get('TemplateURL');
    if (form.get('TemplateBody')) template = JSON.parse(form.get('TemplateBody')!) as CfnTemplateJson;
    else if (url) {
      const got = await fetch(url).catch((e: Error) => new AwsFault('ValidationError', `TemplateURL must be a supported URL: ${e.message}`));
      if (got instanceof AwsFault) throw got;
      if (!got.ok) throw new AwsFault('ValidationError', `S3 error: Access Denied or no such key at ${url} (HTTP ${got.status})`);
      template = (await got.json()) as CfnTemplateJson;
    } else if (form.get('UsePreviousTemplate') !== 'true') throw new AwsFault('ValidationError', 'Either Template URL or Template Body must be specified.');

    const given = members(form, 'Parameters') as Array<Record<string, string>>;
    const declared = template.Parameters ?? {};
    const unknown = given.filter((p) => !(p['ParameterKey']! in declared)).map((p) => p['ParameterKey']);
    if (unknown.length > 0) throw new AwsFault('ValidationError', `Parameters: [${unknown.join(', ')}] do not exist in the template`);
    const parameters: Record<string, string> = {};
    for (const [k, p] of Object.entries(declared)) {
      const g = given.find((x) => x['ParameterKey'] === k);
      const value = g?.['UsePreviousValue'] === 'true' ? s.parameters[k] : (g?.['ParameterValue'] ?? p.Default);
      if (value === undefined) throw new AwsFault('ValidationError', `Parameters: [${k}] must have values`);
      if (p.AllowedPattern && !new RegExp(`^(?:${p.AllowedPattern})$`).test(value)) throw new AwsFault('ValidationError', `Parameter '${k}' must match pattern ${p.AllowedPattern}`);
      parameters[k] = value;
    }
    const capabilities = members(form, 'Capabilities') as string[];
    const roles = Object.values(template.Resources).filter((r) => r.Type.startsWith('AWS::IAM::'));
    const needed = roles.some((r) => r.Properties?.['RoleName'] !== undefined) ? 'CAPABILITY_NAMED_IAM' : roles.length > 0 ? 'CAPABILITY_IAM' : undefined;
    if (needed && !capabilities.includes(needed) && !capabilities.includes('CAPABILITY_NAMED_IAM')) throw new AwsFault('InsufficientCapabilitiesException', `Requires capabilities : [${needed}]`);
    const givenTags = members(form, 'Tags') as Array<Record<string, string>>;
    const tags = givenTags.length > 0 ? Object.fromEntries(givenTags.map((t) => [t['Key']!, t['Value']!])) : s.tags;

    if (JSON.stringify(template) === JSON.stringify(s.template) && JSON.stringify(parameters) === JSON.stringify(s.parameters) && JSON.stringify(tags) === JSON.stringify(s.tags)) {
      throw new AwsFault('ValidationError', 'No updates are to be performed.');
    }
    this.record(key, 'cloudformation.amazonaws.com', 'UpdateStack', [{ ResourceType: 'AWS::CloudFormation::Stack', ResourceName: s.id }], {
      requestParameters: { stackName: s.name, templateURL: url ?? undefined, usePreviousTemplate: form.get('UsePreviousTemplate') === 'true', parameters: given, tags: givenTags },
      responseElements: { stackId: s.id },
    });
    const previous = { template: s.template, parameters: s.parameters, tags: s.tags };
    const event = (status: string, reason?: string, logicalId = s.name, type = 'AWS::CloudFormation::Stack') =>
      s.events.push({ EventId: randomUUID(), LogicalResourceId: logicalId, ResourceType: type, Timestamp: this.now().toISOString(), ResourceStatus: status, ResourceStatusReason: reason });
    Object.assign(s, { status: 'UPDATE_IN_PROGRESS', statusReason: 'User Initiated', template, parameters, tags });
    event('UPDATE_IN_PROGRESS', 'User Initiated');
    const fault = this.options.updateFault?.(s.name, template);
    setTimeout(() => {
      if (fault) {
        const type = template.Resources[fault.logicalId]?.Type ?? 'AWS::Lambda::Function';
        event('UPDATE_FAILED', fault.reason, fault.logicalId, type);
        Object.assign(s, previous, { status: 'UPDATE_ROLLBACK_COMPLETE', statusReason: `The following resource(s) failed to update: [${fault.logicalId}].` });
        event('UPDATE_ROLLBACK_COMPLETE');
      } else {
        Object.assign(s, { status: 'UPDATE_COMPLETE', statusReason: undefined });
        event('UPDATE_COMPLETE');
      }
    }, this.options.updateMs ?? 300);
    return { StackId: s.id };
  }

  private async assumeRole(key: string, form: URLSearchParams): Promise<unknown> {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const externalId = form.get('ExternalId') ?? undefined;
    const c = this.caller(key);
    const requestParameters = { roleArn, roleSessionName: sessionName, externalId };
    const roleName = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
    let found: { stack: string; id: string } | undefined;
    try {
      if (roleName?.[1] === TEST_ACCOUNT) found = this.resolver().findRole(roleName[2]!);
    } catch (e) {
      if (!(e instanceof UnresolvableValue)) throw e;
    }
    const resolver = this.resolver();
    const context: Record<string, string> = { 'aws:CurrentTime': this.now().toISOString(), ...(externalId ? { 'sts:ExternalId': externalId } : {}) };
    const decision = found ? await decide(c.arn, c.policies, { action: 'sts:AssumeRole', resource: roleArn, context }, resolver.trustPolicy(found.stack, found.id)) : 'ImplicitlyDenied';
    if (decision !== 'Allowed' || !found) {
      const message = `User: ${c.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
      this.record(key, 'sts.amazonaws.com', 'AssumeRole', [], { errorCode: 'AccessDenied', errorMessage: message, requestParameters });
      throw new AwsFault('AccessDenied', message, 403);
    }
    const sessionKey = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const session: Session = { roleArn, roleName: roleName![2]!, arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${roleName![2]}/${sessionName}`, stack: found.stack, logicalId: found.id };
    this.sessions.set(sessionKey, session);
    const credentials = { AccessKeyId: sessionKey, SecretAccessKey: randomBytes(20).toString('hex'), SessionToken: randomBytes(32).toString('base64'), Expiration: new Date(this.now().getTime() + 3_600_000).toISOString() };
    this.record(key, 'sts.amazonaws.com', 'AssumeRole', [{ ResourceType: 'AWS::IAM::Role', ResourceName: roleArn }], {
      requestParameters,
      responseElements: { credentials: { accessKeyId: sessionKey, expiration: credentials.Expiration }, assumedRoleUser: { arn: session.arn } },
    });
    return { Credentials: credentials, AssumedRoleUser: { Arn: session.arn, AssumedRoleId: `AROA${randomBytes(6).toString('hex').toUpperCase()}:${sessionName}` } };
  }

  private async cloudTrail(key: string, target: string, input: Record<string, unknown>): Promise<unknown> {
    if (!target.endsWith('.LookupEvents')) throw new AwsFault('UnknownOperationException', `${target} is not served by the test stand-in`);
    await this.authorize(key, 'cloudtrail.amazonaws.com', 'LookupEvents', 'cloudtrail:LookupEvents', '*');
    const attributes = (input['LookupAttributes'] ?? []) as Array<{ AttributeKey: string; AttributeValue: string }>;
    if (attributes.length > 1) throw new AwsFault('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.');
    const start = typeof input['StartTime'] === 'number' ? input['StartTime'] : -Infinity;
    const end = typeof input['EndTime'] === 'number' ? input['EndTime'] : Infinity;
    const a = attributes[0];
    const matches = (e: TrailEvent) => {
      if (!a) return true;
      switch (a.AttributeKey) {
        case 'EventName':
          return e.EventName === a.AttributeValue;
        case 'AccessKeyId':
          return e.AccessKeyId === a.AttributeValue;
        case 'Username':
          return e.Username === a.AttributeValue;
        case 'ResourceName':
          return e.Resources.some((r) => r.ResourceName === a.AttributeValue);
        case 'EventSource':
          return e.EventSource === a.AttributeValue;
        default:
          throw new AwsFault('InvalidLookupAttributesException', `${a.AttributeKey} is not served by the test stand-in`);
      }
    };
    // Newest first, as CloudTrail returns them; pages of MaxResults (at most 50).
    const events = this.trail.filter((e) => e.EventTime >= start && e.EventTime <= end && matches(e)).reverse();
    const offset = input['NextToken'] ? Number(input['NextToken']) : 0;
    const size = Math.min(Number(input['MaxResults'] ?? 50), 50);
    const page = events.slice(offset, offset + size);
    return { Events: page, NextToken: offset + size < events.length ? String(offset + size) : undefined };
  }
}
