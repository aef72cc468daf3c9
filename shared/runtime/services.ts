/**
 * What a slice's handlers need from their surroundings. In AWS these are the
 * real clients built from the Lambda's environment (aws.ts); locally the same
 * SDK clients pointed at the stand-ins (shared/local/runtime.ts).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { asReefError, describeError, isReefError, parseErrorLine, TERMINAL_ERROR_NAME, TRANSIENT_ERROR_NAME } from '../errors.ts';
import type { MetadataStore } from '../metadata/store.ts';
import type { ReefEvent } from '../metadata/types.ts';
import type { SecretSource } from '../secrets.ts';

/** Delivers events beyond the metadata table: EventBridge in AWS, the local bus here. */
export interface EventPublisher {
  publish(event: ReefEvent): Promise<void>;
}

/**
 * Fault injection points for the local fault tests. AWS services have none;
 * the local runtime reads them from REEF_FAULT.
 */
export interface Faults {
  hit(point: string, n?: number): void;
}

export interface Services {
  installation: string;
  metadata: MetadataStore;
  s3: S3Client;
  bucket: string;
  secrets: SecretSource;
  events: EventPublisher;
  faults: Faults;
  now(): Date;
  /** Progress lines for a person watching (stderr locally, CloudWatch Logs in AWS). */
  log(message: string, fields?: Record<string, unknown>): void;
}

export const NO_FAULTS: Faults = { hit: () => {} };

/** A Lambda-style handler: JSON in, small JSON out. */
export type Handler = (input: unknown) => Promise<unknown>;

/** Records an event in the metadata and delivers it to the publisher. */
export async function emit(services: Services, event: Omit<ReefEvent, 'id' | 'time'> & { id?: string }): Promise<ReefEvent> {
  const stored = await services.metadata.putEvent({ ...event, time: services.now().toISOString() });
  await services.events.publish(stored);
  return stored;
}

/**
 * Wraps a handler so what leaves it is what a state machine's Retry and Catch
 * expect in both runtimes: an Error named `Reef.Transient` or `Reef.Terminal`
 * whose message is the one-line `category error (code): message`.
 */
export function atBoundary(fn: Handler): Handler {
  return async (input) => {
    try {
      return await fn(input);
    } catch (e) {
      // Shaped by an inner boundary already (a Lambda entry point around a bound
      // handler): re-shaping it would turn it into an internal terminal error and lose the retry.
      if (e instanceof Error && !isReefError(e) && (e.name === TRANSIENT_ERROR_NAME || e.name === TERMINAL_ERROR_NAME) && parseErrorLine(e.message)) throw e;
      const r = asReefError(e);
      const out = new Error(describeError(r));
      out.name = r.name;
      throw out;
    }
  };
}
