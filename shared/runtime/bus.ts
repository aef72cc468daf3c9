/**
 * How a Reef event looks on the installation's EventBridge bus: what the
 * publisher writes (aws.ts) and what rules match on (the notification rules),
 * kept in one place so the two cannot drift apart.
 *
 *   Source      reef.<installation>
 *   DetailType  <kind>:<type>, e.g. `metadata:check.failed`
 *   Detail      the event's JSON (ReefEvent)
 */
import type { ReefEvent } from '../metadata/types.ts';

export function eventSource(installation: string): string {
  return `reef.${installation}`;
}

export function detailType(event: Pick<ReefEvent, 'kind' | 'type'>): string {
  return `${event.kind}:${event.type}`;
}
