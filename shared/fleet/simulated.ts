/**
 * Simulated installations for the fleet tool: each a directory holding one
 * JSON file with its version, its slices' health and its recent batches.
 * Lighter than the embedded runtime on purpose (fifty of those would start
 * fifty DynamoDB, S3 and PostgreSQL stand-ins); what a rollout needs from an
 * installation is the same either way: an upgrade, then a HealthSnapshot.
 *
 * An upgrade runs one simulated period per slice on the new version, so the
 * gate sees batches that finished after it. A fault planted for a version
 * (`faults`) makes that version's upgrade fail, a slice unhealthy, or a batch
 * fail: how a test or a demo makes a gate fail.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../errors.ts';
import type { FleetInstallation, FleetRegistry } from './registry.ts';
import { writeRegistry, writeJsonAtomic } from './registry.ts';
import type { FleetDriver, HealthSnapshot } from './rollout.ts';

export interface SimulatedFault {
  kind: 'upgrade-fails' | 'unhealthy' | 'failed-batch';
  slice: string;
  reason: string;
}

export interface SimulatedInstallation extends HealthSnapshot {
  name: string;
  /** What upgrading to a version breaks, by version. */
  faults: Record<string, SimulatedFault>;
}

export const SIMULATED_FILE = 'installation.json';

/** Slices every simulated installation has: a collect, an organize and a harness slice, like the demo. */
const SIMULATED_SLICES = [
  { slice: 'shop', dataset: 'shop.orders' },
  { slice: 'warehouse', dataset: 'analytics.customer_ltv' },
  { slice: 'scores', dataset: 'analytics.customer_ltv' },
];

function fileOf(root: string, name: string): string {
  return join(root, name, SIMULATED_FILE);
}

export function readSimulated(root: string, name: string): SimulatedInstallation {
  const path = fileOf(root, name);
  if (!existsSync(path)) throw new TerminalError('config', `no simulated installation ${name}: ${path} does not exist; expected one made by reef fleet simulate`, { code: 'fleet.no-installation' });
  return JSON.parse(readFileSync(path, 'utf8')) as SimulatedInstallation;
}

export function writeSimulated(root: string, installation: SimulatedInstallation): void {
  mkdirSync(join(root, installation.name), { recursive: true });
  writeJsonAtomic(fileOf(root, installation.name), installation);
}

/** Plants a fault that the next upgrade to `version` sets off. */
export function plantFault(root: string, name: string, version: string, fault: SimulatedFault): void {
  const inst = readSimulated(root, name);
  writeSimulated(root, { ...inst, faults: { ...inst.faults, [version]: fault } });
}

/** A period's timelabel (`YYYYMMDDHHmm00`) for a time. */
function timelabelOf(time: Date): string {
  return time.toISOString().replace(/[-:T]/g, '').slice(0, 12) + '00';
}

export class SimulatedFleet implements FleetDriver {
  readonly root: string;
  readonly #now: () => Date;

  constructor(root: string, now: () => Date = () => new Date()) {
    this.root = root;
    this.#now = now;
  }

  async upgrade(installation: FleetInstallation, version: string): Promise<void> {
    const inst = readSimulated(this.root, installation.name);
    const fault = inst.faults[version];
    if (fault?.kind === 'upgrade-fails') throw new TerminalError('target', `deploy of ${version} to ${inst.name} failed: ${fault.reason}`, { code: 'fleet.upgrade-failed' });
    const now = this.#now();
    // A new deploy replaces the code of every slice: health follows the version deployed, not the one before.
    const slices = inst.slices.map((s) => (fault?.kind === 'unhealthy' && s.slice === fault.slice ? { slice: s.slice, healthy: false, why: fault.reason } : { slice: s.slice, healthy: true }));
    const period = SIMULATED_SLICES.map(({ slice, dataset }) => ({
      slice,
      dataset,
      timelabel: timelabelOf(now),
      status: fault?.kind === 'failed-batch' && fault.slice === slice ? ('failed' as const) : ('committed' as const),
      finishedAt: now.toISOString(),
    }));
    writeSimulated(this.root, { ...inst, version, slices, batches: [...inst.batches, ...period] });
  }

  async snapshot(installation: FleetInstallation): Promise<HealthSnapshot> {
    const { version, slices, batches } = readSimulated(this.root, installation.name);
    return { version, slices, batches };
  }
}

/**
 * `count` simulated installations under `root` and a registry naming them
 * (`sim-001`…), all on `version` in `channel`, each with one committed period
 * and (every tenth) an old failed batch from before any rollout, which a gate
 * must not hold against it.
 */
export function createSimulatedFleet(options: { root: string; registry: string; count: number; version: string; channel: string; now?: Date }): FleetRegistry {
  const now = options.now ?? new Date();
  const before = new Date(now.getTime() - 3_600_000);
  const regions = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];
  const installations: FleetInstallation[] = [];
  for (let i = 1; i <= options.count; i++) {
    const name = `sim-${String(i).padStart(3, '0')}`;
    installations.push({ name, account: String(100_000_000_000 + i), region: regions[i % regions.length], externalId: `reef-${name}`, version: options.version, channel: options.channel });
    const batches = SIMULATED_SLICES.map(({ slice, dataset }) => ({ slice, dataset, timelabel: timelabelOf(before), status: i % 10 === 0 && slice === 'shop' ? ('failed' as const) : ('committed' as const), finishedAt: before.toISOString() }));
    writeSimulated(options.root, { name, version: options.version, slices: SIMULATED_SLICES.map(({ slice }) => ({ slice, healthy: true })), batches, faults: {} });
  }
  const registry = { installations };
  writeRegistry(options.registry, registry);
  return registry;
}
