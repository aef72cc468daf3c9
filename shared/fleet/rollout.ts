/**
 * A rollout of a new version over one channel of the fleet, in waves: a
 * canary (one installation), then cumulative percentages of the channel.
 * After each wave a health gate looks at every installation the rollout has
 * upgraded so far: the new version in place, every slice healthy, and no
 * batch failed since its upgrade. The first failing gate halts the rollout,
 * so every installation of the later waves stays on its old version.
 *
 * The state is a file beside the registry, written after every step, so a
 * halted (or interrupted) rollout can be resumed where it stopped or rolled
 * back to each installation's previous version.
 *
 * Installations are reached through a FleetDriver. simulated.ts has one for
 * simulated local installations (`--simulated`), aws.ts the one for
 * installations deployed in AWS (`--aws --release <url>`): `upgrade` assumes
 * the installation's upgrade role (`arn:aws:iam::<account>:role/
 * <vendorRoleName(name, 'upgrade')>`, with `ExternalId` = the registry's
 * externalId; refused by IAM outside the customer's upgrade window) and
 * updates its slice stacks, never the core, to the release's templates for
 * the version with CloudFormation, waiting for UPDATE_COMPLETE; `snapshot`
 * assumes the monitoring role and reads the slice stacks' status and
 * ReefVersion output and the metadata table (slice configs, each slice's
 * batches: status and times only, never data).
 */
import { describeError, TerminalError } from '../errors.ts';
import type { FleetInstallation } from './registry.ts';
import { readRegistry, setInstalledVersion, VERSION_PATTERN, writeJsonAtomic } from './registry.ts';
import { existsSync, readFileSync } from 'node:fs';

const UPGRADE_FAILED = 'upgrade failed: ';

/** What a health gate reads from one installation. */
export interface HealthSnapshot {
  version: string;
  slices: { slice: string; healthy: boolean; why?: string }[];
  batches: { slice: string; dataset: string; timelabel: string; status: 'committed' | 'failed' | 'running' | 'pending' | 'paused'; finishedAt: string }[];
}

export interface FleetDriver {
  /** Moves the installation to `version`; resolves when the deploy finished (healthy or not: the gate judges that). */
  upgrade(installation: FleetInstallation, version: string): Promise<void>;
  snapshot(installation: FleetInstallation): Promise<HealthSnapshot>;
}

/** Why an installation fails its gate; empty when it passes. */
export function healthProblems(snapshot: HealthSnapshot, version: string, since: string): string[] {
  const problems: string[] = [];
  if (snapshot.version !== version) problems.push(`runs ${snapshot.version}, expected ${version}`);
  for (const s of snapshot.slices.filter((x) => !x.healthy)) problems.push(`slice ${s.slice} unhealthy${s.why ? `: ${s.why}` : ''}`);
  // `since` is when the upgrade began: a batch failing during the deploy counts against the new version too.
  for (const b of snapshot.batches.filter((x) => x.status === 'failed' && x.finishedAt >= since)) problems.push(`batch ${b.dataset} @ ${b.timelabel} failed at ${b.finishedAt}, after the upgrade`);
  return problems;
}

/** `1,10,50,100`: strictly increasing whole percentages ending at 100. */
export function parseWaves(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const waves = parts.map((s) => (/^\d{1,3}$/.test(s) ? Number(s) : NaN));
  const ok = waves.length > 0 && waves.every((p, i) => p >= 1 && p <= 100 && (i === 0 || p > waves[i - 1])) && waves.at(-1) === 100;
  if (!ok) {
    throw new TerminalError('config', `--waves is ${JSON.stringify(text)}; expected increasing whole percentages from 1 to 100, ending at 100 (e.g. 1,10,50,100)`, { code: 'fleet.invalid-waves' });
  }
  return waves;
}

export interface Wave {
  /** `canary`, or the cumulative percentage it brings the channel to (`10%`). */
  label: string;
  installations: string[];
}

/**
 * The canary (the first installation), then for each percentage p the
 * installations that bring the upgraded count to ceil(p% of all). A wave
 * that would add none (1% of 50 after the canary) is left out.
 */
export function planWaves(names: readonly string[], percentages: readonly number[]): Wave[] {
  if (names.length === 0) return [];
  const waves: Wave[] = [{ label: 'canary', installations: [names[0]] }];
  let done = 1;
  for (const p of percentages) {
    const target = Math.ceil((p * names.length) / 100);
    if (target > done) waves.push({ label: `${p}%`, installations: names.slice(done, target) });
    done = Math.max(done, target);
  }
  return waves;
}

export type InstallationRolloutStatus = 'pending' | 'upgrading' | 'upgraded' | 'healthy' | 'failed' | 'rolled-back';

export interface InstallationRollout {
  /** Its version before the rollout: where a rollback takes it. */
  from: string;
  status: InstallationRolloutStatus;
  /** When its upgrade began: a batch failing from then on ran on (or during the deploy of) the new version. */
  upgradeStartedAt?: string;
  /** Why it failed its upgrade or its gate. */
  reason?: string;
}

export interface RolloutState {
  version: string;
  channel: string;
  percentages: number[];
  status: 'running' | 'halted' | 'completed' | 'rolled-back';
  waves: Wave[];
  /** Index of the wave in progress, or the one the rollout halted at; waves.length once completed. */
  currentWave: number;
  installations: Record<string, InstallationRollout>;
  /** The installations that failed, when halted. */
  failed: { installation: string; wave: string; reason: string }[];
  startedAt: string;
  updatedAt: string;
}

export interface RolloutOptions {
  registry: string;
  driver: FleetDriver;
  now?: () => Date;
  /** After each wave's gate, passed or not. */
  onWave?: (wave: Wave, index: number, passed: boolean) => void;
}

/** The rollout's state file, beside the registry: `fleet.json` → `fleet.rollout.json`. */
export function rolloutStatePath(registry: string): string {
  return registry.replace(/(\.json)?$/, '.rollout.json');
}

export function readRolloutState(registry: string): RolloutState | undefined {
  const path = rolloutStatePath(registry);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RolloutState;
  } catch (e) {
    throw new TerminalError('config', `${path}: found text that is not JSON (${(e as Error).message}), expected a rollout state written by reef fleet`, { code: 'fleet.invalid-state' });
  }
}

function unfinished(state: RolloutState | undefined): state is RolloutState {
  return state !== undefined && (state.status === 'running' || state.status === 'halted');
}

export async function startRollout(options: RolloutOptions & { version: string; channel: string; percentages: number[] }): Promise<RolloutState> {
  if (!new RegExp(VERSION_PATTERN).test(options.version)) {
    throw new TerminalError('config', `version is ${JSON.stringify(options.version)}; expected a version such as 1.4.0 or 2.0.0-rc.1`, { code: 'fleet.invalid-version' });
  }
  const previous = readRolloutState(options.registry);
  if (unfinished(previous)) {
    throw new TerminalError(
      'config',
      `a rollout of ${previous.version} to ${previous.channel} is ${previous.status} at wave ${previous.waves[previous.currentWave]?.label ?? previous.currentWave}; expected it resumed (reef fleet rollout --resume) or rolled back (reef fleet rollback) first`,
      { code: 'fleet.rollout-unfinished' },
    );
  }
  const registry = readRegistry(options.registry);
  const channel = registry.installations.filter((i) => i.channel === options.channel);
  if (channel.length === 0) {
    throw new TerminalError('config', `no installation in ${options.registry} follows channel ${JSON.stringify(options.channel)}; expected one of ${[...new Set(registry.installations.map((i) => i.channel))].join(', ') || '(none registered)'}`, {
      code: 'fleet.empty-channel',
    });
  }
  const behind = channel.filter((i) => i.version !== options.version);
  const now = (options.now ?? (() => new Date()))().toISOString();
  const state: RolloutState = {
    version: options.version,
    channel: options.channel,
    percentages: options.percentages,
    status: 'running',
    waves: planWaves(behind.map((i) => i.name), options.percentages),
    currentWave: 0,
    installations: Object.fromEntries(behind.map((i) => [i.name, { from: i.version, status: 'pending' }])),
    failed: [],
    startedAt: now,
    updatedAt: now,
  };
  // Nothing to do is not a rollout: the state file keeps the last real one, so it can still be rolled back.
  if (state.waves.length === 0) return { ...state, status: 'completed' };
  return execute(state, options);
}

/** Continues a halted or interrupted rollout: failed upgrades are tried again, failed gates looked at again. */
export async function resumeRollout(options: RolloutOptions): Promise<RolloutState> {
  const state = readRolloutState(options.registry);
  const found = state?.status ?? 'none';
  if (!unfinished(state)) {
    throw new TerminalError('config', `no halted rollout in ${rolloutStatePath(options.registry)} (found ${found}); expected one to resume`, { code: 'fleet.nothing-to-resume' });
  }
  for (const inst of Object.values(state.installations)) {
    if (inst.status === 'failed' || inst.status === 'upgrading') {
      // A failed upgrade is tried again; an installation that failed its gate is only looked at again.
      inst.status = inst.reason?.startsWith(UPGRADE_FAILED) || inst.status === 'upgrading' ? 'pending' : 'upgraded';
      delete inst.reason;
    }
  }
  return execute({ ...state, status: 'running', failed: [] }, options);
}

async function execute(state: RolloutState, options: RolloutOptions): Promise<RolloutState> {
  const now = options.now ?? (() => new Date());
  const save = () => {
    state.updatedAt = now().toISOString();
    writeJsonAtomic(rolloutStatePath(options.registry), state);
  };
  const entries = new Map(readRegistry(options.registry).installations.map((i) => [i.name, i]));
  const entry = (name: string): FleetInstallation => {
    const e = entries.get(name);
    if (e === undefined) throw new TerminalError('config', `installation ${name} of the rollout is no longer in ${options.registry}; expected it registered until the rollout ends`, { code: 'fleet.unregistered' });
    return e;
  };
  save();
  for (; state.currentWave < state.waves.length; state.currentWave++) {
    const wave = state.waves[state.currentWave];
    // One at a time within a wave, in registry order: the state file then says exactly which one was in flight.
    for (const name of wave.installations) {
      const inst = state.installations[name];
      if (inst.status !== 'pending' && inst.status !== 'upgrading') continue;
      inst.status = 'upgrading';
      inst.upgradeStartedAt = now().toISOString();
      save();
      try {
        await options.driver.upgrade(entry(name), state.version);
        inst.status = 'upgraded';
        setInstalledVersion(options.registry, name, state.version);
      } catch (e) {
        inst.status = 'failed';
        inst.reason = `${UPGRADE_FAILED}${describeError(e)}`;
      }
      save();
    }
    // Every installation upgraded so far, not only this wave's: a canary that breaks later still stops the rollout.
    const upgradedSoFar = state.waves.slice(0, state.currentWave + 1).flatMap((w) => w.installations);
    for (const name of upgradedSoFar) {
      const inst = state.installations[name];
      if (inst.status !== 'upgraded' && inst.status !== 'healthy') continue;
      // An installation whose health cannot be read fails its gate: the rollout halts (resumable) rather than guessing.
      const problems = await options.driver.snapshot(entry(name)).then(
        (snapshot) => healthProblems(snapshot, state.version, inst.upgradeStartedAt!),
        (e: unknown) => [`health could not be read: ${describeError(e)}`],
      );
      if (problems.length === 0) {
        inst.status = 'healthy';
      } else {
        inst.status = 'failed';
        inst.reason = problems.join('; ');
      }
    }
    const failed = upgradedSoFar.filter((name) => state.installations[name].status === 'failed');
    options.onWave?.(wave, state.currentWave, failed.length === 0);
    if (failed.length > 0) {
      state.status = 'halted';
      state.failed = failed.map((name) => ({ installation: name, wave: state.waves.find((w) => w.installations.includes(name))!.label, reason: state.installations[name].reason ?? '' }));
      save();
      return state;
    }
    save();
  }
  state.status = 'completed';
  save();
  return state;
}

/**
 * Takes every installation the rollout touched back to its previous version,
 * newest first. One that cannot be rolled back is reported and the others
 * still are; the state stays halted until all of them are back.
 */
export async function rollbackRollout(options: RolloutOptions): Promise<{ state: RolloutState; errors: { installation: string; reason: string }[] }> {
  const state = readRolloutState(options.registry);
  if (state === undefined || state.status === 'rolled-back') {
    throw new TerminalError('config', `no rollout to roll back in ${rolloutStatePath(options.registry)} (found ${state ? state.status : 'none'}); expected a running, halted or completed one`, { code: 'fleet.nothing-to-roll-back' });
  }
  const now = options.now ?? (() => new Date());
  const registry = new Map(readRegistry(options.registry).installations.map((i) => [i.name, i]));
  const touched = state.waves.flatMap((w) => w.installations).filter((name) => state.installations[name].status !== 'pending' && state.installations[name].status !== 'rolled-back');
  const errors: { installation: string; reason: string }[] = [];
  for (const name of touched.reverse()) {
    const inst = state.installations[name];
    const entry = registry.get(name);
    try {
      if (entry === undefined) throw new TerminalError('config', `installation ${name} is no longer in ${options.registry}`, { code: 'fleet.unregistered' });
      await options.driver.upgrade(entry, inst.from);
      setInstalledVersion(options.registry, name, inst.from);
      inst.status = 'rolled-back';
    } catch (e) {
      errors.push({ installation: name, reason: describeError(e) });
    }
  }
  state.status = errors.length === 0 ? 'rolled-back' : 'halted';
  state.updatedAt = now().toISOString();
  writeJsonAtomic(rolloutStatePath(options.registry), state);
  return { state, errors };
}
