/**
 * Local secrets: a JSON file the user owns, `<flow>/.reef/secrets.json`
 * (mode 0600), mapping secret names to the same JSON a Secrets Manager secret
 * would hold. The runtime writes only the entries of embedded databases.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { TerminalError } from '../errors.ts';
import { Secret, type SecretSource } from '../secrets.ts';

export class SecretsFile implements SecretSource {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  #read(): Record<string, Record<string, unknown>> {
    if (!existsSync(this.path)) return {};
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as Record<string, Record<string, unknown>>;
    } catch (e) {
      // Do not quote the file: it holds passwords.
      throw new TerminalError('config', `${this.path} is not a JSON object of secrets (${(e as Error).message}); expected {"<name>": {"host": ..., "password": ...}}`, {
        code: 'config.secrets-file',
      });
    }
  }

  async get(name: string): Promise<Secret<Record<string, unknown>>> {
    const all = this.#read();
    const value = all[name];
    if (!value || typeof value !== 'object') {
      throw new TerminalError('config', `secret ${name} is not in ${this.path}; expected an entry "${name}": {"host", "port", "database", "user", "password"}`, {
        code: 'config.secret',
      });
    }
    return new Secret(name, value);
  }

  /** Sets one entry, keeping every other entry as the user left it. */
  put(name: string, value: Record<string, unknown>): void {
    const all = this.#read();
    all[name] = value;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
    chmodSync(this.path, 0o600);
  }
}
