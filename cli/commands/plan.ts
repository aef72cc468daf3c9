import type { Command } from 'commander';
import { loadFlow } from '../../shared/flow/load.ts';
import { planFlow } from '../../shared/local/apply.ts';
import { LocalRuntime } from '../../shared/local/runtime.ts';
import { formatPlan } from '../../shared/plan/format.ts';

export function register(program: Command): void {
  program
    .command('plan')
    .argument('<flow>', 'the flow directory (holds reef.yaml)')
    .option('--json', 'print the plan as one JSON object')
    .description('show what `reef apply` would change: slices and views added, changed or removed, what breaks downstream, and from which timelabel')
    .addHelpText('after', '\nViews are described by the warehouse (nothing is run or kept), so the local runtime starts.\n\nExample:\n  reef plan examples/shop --json')
    .action(async (dir: string, options: { json?: boolean }) => {
      const flow = await loadFlow(dir);
      // Full: the signatures come from the warehouse, the embedded PostgreSQL locally.
      const runtime = await LocalRuntime.start(flow, { full: true });
      try {
        const plan = await planFlow(runtime, flow);
        process.stdout.write(options.json ? JSON.stringify(plan, null, 2) + '\n' : formatPlan(plan));
      } finally {
        await runtime.stop();
      }
    });
}
