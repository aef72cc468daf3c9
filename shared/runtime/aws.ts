/**
 * Services for a slice running as Lambda functions in AWS, built once per
 * container from the environment the slice stack sets.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TerminalError, TransientError } from '../errors.ts';
import { MetadataStore } from '../metadata/store.ts';
import { Secret, type SecretSource } from '../secrets.ts';
import { SLICE_ENV } from './env.ts';
import { NO_FAULTS, type Services } from './services.ts';
import { validateSliceConfig } from '../flow/load.ts';


function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new TerminalError('config', `environment variable ${name} is not set; expected the slice stack to set it`, { code: 'config.env' });
  return v;
}

class SecretsManagerSource implements SecretSource {
  readonly #client = new SecretsManagerClient({});
  async get(name: string): Promise<Secret<Record<string, unknown>>> {
    let text: string | undefined;
    try {
      text = (await this.#client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (e) {
      const err = e as Error;
      if (err.name === 'ResourceNotFoundException' || err.name === 'AccessDeniedException') {
        throw new TerminalError('config', `secret ${name}: ${err.name}; expected a secret this slice may read`, { code: 'config.secret' });
      }
      throw new TransientError('internal', `secret ${name}: ${err.name}`, { code: 'secrets.unavailable' });
    }
    try {
      return new Secret(name, JSON.parse(text ?? '') as Record<string, unknown>);
    } catch {
      // Never echo the text: it is the secret.
      throw new TerminalError('config', `secret ${name} is not a JSON object; expected {"host", "port", "database", "user", "password"}`, { code: 'config.secret' });
    }
  }
}

export function servicesFromEnv(): Services {
  const bus = required(SLICE_ENV.eventBus);
  const events = new EventBridgeClient({});
  const installation = required(SLICE_ENV.installation);
  return {
    installation,
    metadata: new MetadataStore({ client: new DynamoDBClient({}), tableName: required(SLICE_ENV.table) }),
    s3: new S3Client({}),
    bucket: required(SLICE_ENV.bucket),
    secrets: new SecretsManagerSource(),
    events: {
      async publish(event) {
        await events.send(new PutEventsCommand({
          Entries: [{ EventBusName: bus, Source: `reef.${installation}`, DetailType: `${event.kind}:${event.type}`, Detail: JSON.stringify(event) }],
        }));
      },
    },
    faults: NO_FAULTS,
    now: () => new Date(),
    log: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  };
}

/**
 * The Plan function carries the slice config as deployed; storing it (a no-op
 * when unchanged) before planning keeps DynamoDB the one place config is read
 * from, whoever wrote it last.
 */
export async function storeDeployedConfig(services: Services): Promise<void> {
  const text = process.env[SLICE_ENV.sliceConfig];
  if (!text) return;
  const slice = required(SLICE_ENV.slice);
  const type = required(SLICE_ENV.sliceType);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    throw new TerminalError('config', `${SLICE_ENV.sliceConfig} of slice ${slice} is not JSON; expected the config the slice stack deployed`, { code: 'config.env' });
  }
  await services.metadata.putSliceConfig({ slice, type, config }, (t, c) => validateSliceConfig(t, c, `slice ${slice} (deployed config)`));
}
