/**
 * Services for a slice running as Lambda functions in AWS, built once per
 * container from the environment the slice stack sets.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { TerminalError } from '../errors.ts';
import { MetadataStore } from '../metadata/store.ts';
import { detailType, eventSource } from './bus.ts';
import { SLICE_ENV } from './env.ts';
import { SecretsManagerSource } from './secrets-manager.ts';
import { NO_FAULTS, type Services } from './services.ts';
import { deployedConfigFromEnv, storeDeployedSliceConfig } from './deployed-config.ts';


function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new TerminalError('config', `environment variable ${name} is not set; expected the slice stack to set it`, { code: 'config.env' });
  return v;
}

/**
 * `lake: false` for a slice that never touches the lake (a harness slice reads
 * its dataset from the warehouse): its stack sets no bucket and its role has
 * no S3 access, so `bucket` is empty and any use of it fails.
 */
export function servicesFromEnv(options: { lake?: boolean } = {}): Services {
  const bus = required(SLICE_ENV.eventBus);
  const events = new EventBridgeClient({});
  const installation = required(SLICE_ENV.installation);
  return {
    installation,
    metadata: new MetadataStore({ client: new DynamoDBClient({}), tableName: required(SLICE_ENV.table) }),
    s3: new S3Client({}),
    bucket: options.lake === false ? '' : required(SLICE_ENV.bucket),
    secrets: new SecretsManagerSource(),
    events: {
      async publish(event) {
        await events.send(new PutEventsCommand({
          Entries: [{ EventBusName: bus, Source: eventSource(installation), DetailType: detailType(event), Detail: JSON.stringify(event) }],
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
  const deployed = deployedConfigFromEnv(process.env);
  if (deployed !== undefined) await storeDeployedSliceConfig(services, deployed);
}
