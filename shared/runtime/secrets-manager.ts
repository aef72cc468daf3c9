/**
 * Secrets from AWS Secrets Manager, as every function in AWS reads them
 * (the slice functions through aws.ts, the notify function directly): kept
 * apart so a function that needs only secrets bundles only this client.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TerminalError, TransientError } from '../errors.ts';
import { Secret, type SecretSource } from '../secrets.ts';

export class SecretsManagerSource implements SecretSource {
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
