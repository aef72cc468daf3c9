/**
 * The vendor's registry of installations: one JSON file, validated with ajv
 * on every read, written whole through a rename so a crash never leaves half
 * a file. It holds how to reach each installation (account, region, external
 * id), never credentials, and the version each one runs.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { TerminalError } from '../errors.ts';
import { INSTALLATION_NAME_PATTERN } from '../flow/installation-schema.ts';
import { foundText } from '../flow/load.ts';
import { EXTERNAL_ID_PATTERN } from '../vendor/access.ts';

export interface FleetInstallation {
  /** The vendor's name for it (its reef.yaml `name`); unique in the registry. */
  name: string;
  account: string;
  region: string;
  /** The `sts:ExternalId` of its vendor roles (reef.yaml `vendor.externalId`). */
  externalId: string;
  /** The Reef version it runs. */
  version: string;
  /** The release channel it follows, e.g. `stable`, `early`. */
  channel: string;
}

export interface FleetRegistry {
  installations: FleetInstallation[];
}

/** `1.4.0`, `2.0.0-rc.1`: what a rollout names and a registry records. */
export const VERSION_PATTERN = '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$';
const CHANNEL_PATTERN = '^[a-z][a-z0-9-]{0,30}$';

export const installationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'account', 'region', 'externalId', 'version', 'channel'],
  properties: {
    name: { type: 'string', pattern: INSTALLATION_NAME_PATTERN },
    account: { type: 'string', pattern: '^[0-9]{12}$' },
    region: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]$' },
    externalId: { type: 'string', pattern: EXTERNAL_ID_PATTERN },
    version: { type: 'string', pattern: VERSION_PATTERN },
    channel: { type: 'string', pattern: CHANNEL_PATTERN },
  },
} as const;

const registrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['installations'],
  properties: { installations: { type: 'array', items: installationSchema } },
} as const;

const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
const validateRegistry: ValidateFunction = ajv.compile(registrySchema);
const validateInstallation: ValidateFunction = ajv.compile(installationSchema);

function invalid(where: string, message: string): TerminalError {
  return new TerminalError('config', `${where}: ${message}`, { code: 'fleet.invalid-registry' });
}

/** `installations[3].account`, from ajv's `/installations/3/account`. */
function fieldOf(pointer: string): string {
  return pointer === '' ? '(top level)' : pointer.slice(1).split('/').map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function check(validate: ValidateFunction, value: unknown, where: string): void {
  if (validate(value)) return;
  const e = validate.errors![0];
  const field = e.keyword === 'required' ? `${fieldOf(e.instancePath)}.${String(e.params.missingProperty)}` : e.keyword === 'additionalProperties' ? `${fieldOf(e.instancePath)}.${String(e.params.additionalProperty)}` : fieldOf(e.instancePath);
  const found = e.keyword === 'required' ? 'nothing' : e.keyword === 'additionalProperties' ? 'a field the registry does not have' : foundText(e.data);
  const expected = e.keyword === 'pattern' ? `a value matching ${String(e.params.pattern)}` : e.keyword === 'additionalProperties' ? 'only name, account, region, externalId, version, channel' : (e.message ?? 'a valid value');
  throw invalid(where, `${field}: found ${found}, expected ${expected}`);
}

function checkUnique(registry: FleetRegistry, where: string): void {
  const seen = new Set<string>();
  for (const [i, inst] of registry.installations.entries()) {
    if (seen.has(inst.name)) throw invalid(where, `installations[${i}].name: found ${JSON.stringify(inst.name)} a second time, expected each name once`);
    seen.add(inst.name);
  }
}

/** A registry that does not exist yet reads as empty, so `reef fleet add` can start one. */
export function readRegistry(path: string): FleetRegistry {
  if (!existsSync(path)) return { installations: [] };
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw invalid(path, `found text that is not JSON (${(e as Error).message}), expected {"installations": [...]}`);
  }
  check(validateRegistry, value, path);
  const registry = value as FleetRegistry;
  checkUnique(registry, path);
  return registry;
}

/** Written to a temporary file and renamed over the old one: readers see the old file or the new one, never half. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function writeRegistry(path: string, registry: FleetRegistry): void {
  check(validateRegistry, registry, path);
  checkUnique(registry, path);
  writeJsonAtomic(path, registry);
}

/** Adds one installation; a name already registered is refused, so a typo never replaces another customer's entry. */
export function addInstallation(path: string, installation: FleetInstallation): FleetRegistry {
  check(validateInstallation, installation, `new installation for ${path}`);
  const registry = readRegistry(path);
  if (registry.installations.some((i) => i.name === installation.name)) {
    throw invalid(path, `installation ${JSON.stringify(installation.name)} is registered already; expected a new name`);
  }
  const next = { installations: [...registry.installations, installation] };
  writeRegistry(path, next);
  return next;
}

/** Records the version one installation now runs (after an upgrade or a rollback). */
export function setInstalledVersion(path: string, name: string, version: string): void {
  const registry = readRegistry(path);
  const entry = registry.installations.find((i) => i.name === name);
  if (entry === undefined) throw invalid(path, `installation ${JSON.stringify(name)} is not registered; expected it to stay registered during a rollout`);
  entry.version = version;
  writeRegistry(path, registry);
}
