/**
 * Fault injection for the local runtime, read from REEF_FAULT so a test can
 * crash a real `reef run` process at a chosen step:
 *   REEF_FAULT="extract.part:2=kill"    SIGKILL the process after part 2 is uploaded
 *   REEF_FAULT="commit.before=throw"    throw a terminal error before the commit is written
 *   REEF_FAULT="extract.start.shop.orders=throw"   fail every extraction of one dataset
 * Several are separated by commas. Never set in AWS: the Lambda services have no faults.
 */
import { TerminalError } from '../errors.ts';
import type { Faults } from '../runtime/services.ts';

type Action = 'kill' | 'throw';

export function faultsFromEnv(spec = process.env.REEF_FAULT): Faults {
  const rules = new Map<string, Action>();
  for (const item of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [point, action] = item.split('=');
    if (action !== 'kill' && action !== 'throw') {
      throw new TerminalError('config', `REEF_FAULT: found "${item}", expected <point>=kill|throw`, { code: 'config.fault' });
    }
    rules.set(point, action);
  }
  return {
    hit(point: string, n?: number) {
      const action = rules.get(n === undefined ? point : `${point}:${n}`);
      if (action === 'kill') process.kill(process.pid, 'SIGKILL');
      if (action === 'throw') throw new TerminalError('internal', `fault injected at ${point}`, { code: 'fault.injected' });
    },
  };
}
