/** Data and metadata events, kept per slice in time order and written idempotently by id. */
import { randomUUID } from 'node:crypto';
import { TerminalError } from '../errors.ts';
import { decodeEvent, toJsonValue } from './codec.ts';
import { EVENT_SK_UPPER_BOUND, PARTITION_KEY, SORT_KEY, checkKeyPart, checkTimelabel, keys, normalizeIsoTime } from './keys.ts';
import type { MetadataTable } from './table.ts';
import { ITEM_ABSENT, names } from './table.ts';
import type { ReefEvent } from './types.ts';

/** An event as a caller writes it: `id` and `time` default to a fresh UUID and now. */
export type EventInput = Omit<ReefEvent, 'id' | 'time'> & { id?: string; time?: string };

/**
 * Idempotent on `id`: the first write of an id records its time in a marker
 * item, and every retry reuses that time, so it lands on the same event item
 * even when the caller let the time default.
 */
export async function putEvent(table: MetadataTable, event: EventInput): Promise<ReefEvent> {
  const id = event.id ?? randomUUID();
  const marker = keys.eventIdMarker(event.slice, id);
  if (event.dataset !== undefined) checkKeyPart('dataset', event.dataset);
  if (event.timelabel !== undefined) checkTimelabel(event.timelabel);
  if (event.kind !== 'data' && event.kind !== 'metadata') {
    throw new TerminalError('internal', `event kind ${JSON.stringify(event.kind)}; expected 'data' or 'metadata'`, { code: 'metadata.invalid-input' });
  }
  const detail = toJsonValue(event.detail ?? {}, `detail of event ${event.type}`, 'internal') as Record<string, unknown>;
  let time = event.time === undefined ? table.nowIso() : normalizeIsoTime('event time', event.time);

  if (!(await table.putIf('PutItem event id', { ...marker, id, time }, ITEM_ABSENT))) {
    const stored = await table.get('GetItem event id', marker);
    if (typeof stored?.time === 'string') time = stored.time;
  }

  const record: ReefEvent = { id, kind: event.kind, type: event.type, slice: event.slice, detail, time };
  if (event.dataset !== undefined) record.dataset = event.dataset;
  if (event.timelabel !== undefined) record.timelabel = event.timelabel;
  const key = keys.event(event.slice, time, id);
  if (await table.putIf('PutItem event', { ...key, ...record, detail: undefined, detailJson: JSON.stringify(detail) }, ITEM_ABSENT)) return record;
  const stored = await table.get('GetItem event', key);
  return stored ? decodeEvent(stored) : record;
}

/** Oldest first; `since` is inclusive, `limit` caps how many come back. */
export async function listEvents(table: MetadataTable, slice: string, options: { since?: string; limit?: number } = {}): Promise<ReefEvent[]> {
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new TerminalError('internal', `event limit ${options.limit}; expected a positive integer`, { code: 'metadata.invalid-input' });
  }
  const from = options.since === undefined ? '0' : normalizeIsoTime('since', options.since);
  const condition = `#${PARTITION_KEY} = :pk AND #${SORT_KEY} BETWEEN :from AND :to`;
  const items = await table.query(
    'Query events',
    {
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names(condition),
      ExpressionAttributeValues: { ':pk': keys.eventsPartition(slice), ':from': from, ':to': EVENT_SK_UPPER_BOUND },
    },
    { max: options.limit },
  );
  return items.map(decodeEvent);
}
