/**
 * What the vendor's roles did in a deployed installation, from CloudTrail's
 * event history (management events of the last 90 days, in one region):
 *
 * 1. every AssumeRole of a vendor role, allowed or refused (a refusal is how a
 *    closed upgrade window or a wrong external id shows), found by event name
 *    and kept when its roleArn is one of the three vendor roles;
 * 2. every call made with the temporary keys those assumptions handed out,
 *    found by access key id, allowed or refused.
 *
 * LookupEvents takes one attribute per request and answers about two requests
 * a second, so this is two kinds of lookup rather than a scan of every event.
 * Data events (an S3 GetObject on the lake) are not in the event history;
 * a trail with S3 data events records those (docs/security.md).
 */
import { CloudTrailClient, LookupEventsCommand, type Event, type LookupAttribute } from '@aws-sdk/client-cloudtrail';
import { awsCall } from '../aws/errors.ts';
import type { VendorActionRecord, VendorRole } from '../metadata/types.ts';
import { VENDOR_ROLES } from '../metadata/types.ts';
import { vendorRoleName } from './access.ts';

/** A session lasts at most 12 hours: calls after `since` may come from keys handed out that long before it. */
const LONGEST_SESSION_MS = 12 * 3_600_000;

interface TrailRecord {
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  errorCode?: string;
  errorMessage?: string;
  userIdentity?: { arn?: string; sessionContext?: { sessionIssuer?: { arn?: string } } };
  requestParameters?: { roleArn?: string; roleSessionName?: string; externalId?: string; stackName?: string } | null;
  responseElements?: { credentials?: { accessKeyId?: string } } | null;
}

export interface CloudTrailAudit {
  region: string;
  since: string;
  /** The temporary keys the vendor's assumptions received. */
  sessions: number;
  actions: VendorActionRecord[];
}

async function lookup(trail: CloudTrailClient, attribute: LookupAttribute, start: Date, end: Date): Promise<Event[]> {
  const events: Event[] = [];
  let token: string | undefined;
  do {
    const out = await awsCall(
      `CloudTrail LookupEvents ${attribute.AttributeKey}=${attribute.AttributeValue}`,
      () => trail.send(new LookupEventsCommand({ LookupAttributes: [attribute], StartTime: start, EndTime: end, MaxResults: 50, NextToken: token })),
      'your credentials need cloudtrail:LookupEvents',
    );
    events.push(...(out.Events ?? []));
    token = out.NextToken;
  } while (token);
  return events;
}

function parse(event: Event): TrailRecord {
  try {
    return JSON.parse(event.CloudTrailEvent ?? '{}') as TrailRecord;
  } catch {
    return {};
  }
}

function outcome(record: TrailRecord, allowedReason: string): Pick<VendorActionRecord, 'allowed' | 'reason'> {
  return record.errorCode ? { allowed: false, reason: `${record.errorCode}: ${record.errorMessage ?? 'no message'}` } : { allowed: true, reason: allowedReason };
}

/** The vendor's actions in `account` since `since`, oldest first. */
export async function vendorActionsFromCloudTrail(trail: CloudTrailClient, options: { installation: string; account: string; region: string; since: Date; now: Date }): Promise<CloudTrailAudit> {
  const roleOf = new Map(VENDOR_ROLES.map((role): [string, VendorRole] => [`arn:aws:iam::${options.account}:role/${vendorRoleName(options.installation, role)}`, role]));
  const sessionStart = new Date(options.since.getTime() - LONGEST_SESSION_MS);
  const actions: VendorActionRecord[] = [];
  const sessions = new Map<string, VendorRole>();

  for (const event of await lookup(trail, { AttributeKey: 'EventName', AttributeValue: 'AssumeRole' }, sessionStart, options.now)) {
    const record = parse(event);
    const role = roleOf.get(record.requestParameters?.roleArn ?? '');
    if (role === undefined) continue;
    const key = record.responseElements?.credentials?.accessKeyId;
    if (key) sessions.set(key, role);
    if ((event.EventTime?.getTime() ?? 0) < options.since.getTime()) continue;
    actions.push({
      id: event.EventId ?? '',
      role,
      action: 'sts:AssumeRole',
      resource: record.requestParameters?.roleArn ?? '',
      ...outcome(record, `assumed by ${record.userIdentity?.arn ?? 'an unknown principal'} as session ${record.requestParameters?.roleSessionName ?? '?'}`),
      time: (event.EventTime ?? new Date(0)).toISOString(),
    });
  }

  for (const [key, role] of sessions) {
    for (const event of await lookup(trail, { AttributeKey: 'AccessKeyId', AttributeValue: key }, options.since, options.now)) {
      const record = parse(event);
      const service = (event.EventSource ?? record.eventSource ?? '').replace(/\.amazonaws\.com$/, '');
      actions.push({
        id: event.EventId ?? '',
        role,
        action: `${service}:${event.EventName ?? record.eventName ?? '?'}`,
        resource: event.Resources?.[0]?.ResourceName ?? record.requestParameters?.stackName ?? '*',
        ...outcome(record, `allowed, session ${key}`),
        time: (event.EventTime ?? new Date(0)).toISOString(),
      });
    }
  }
  actions.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  return { region: options.region, since: options.since.toISOString(), sessions: sessions.size, actions };
}
