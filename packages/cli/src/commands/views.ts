/** `distci workers` and `distci queue`: who is live, and what waits for how long and why. */

import type { QueueView, WorkerPresence } from '@distci/common';
import type { Command } from 'commander';
import { apiPath } from '../api-client.js';
import { clientContext } from '../client-action.js';
import { addClientOptions } from '../client-options.js';
import { ago, duration, pc, table } from '../output.js';

function workerRows(workers: WorkerPresence[]): string[][] {
  return workers.map((w) => [
    w.kind,
    w.id,
    w.labels.join(',') || '-',
    `${w.running.length}/${w.capacity}`,
    w.state === 'running' ? pc.green(w.state) : pc.yellow(w.state),
    w.host,
    ago(w.startedAt),
  ]);
}

export function viewCommands(program: Command): void {
  addClientOptions(program.command('workers').description('list live workers')).action(async (_o, cmd: Command) => {
    const ctx = await clientContext(cmd);
    const view = await ctx.api.json<{ workers: WorkerPresence[] }>('GET', apiPath('workers'));
    ctx.print(view, ({ workers }) =>
      workers.length === 0
        ? 'no live workers: start some with `distci worker <kind>` (or run `distci dev`)'
        : table(['KIND', 'ID', 'LABELS', 'BUSY', 'STATE', 'HOST', 'STARTED'], workerRows(workers)),
    );
  });

  addClientOptions(program.command('queue').description('what waits in the queues, for how long, and why')).action(
    async (_o, cmd: Command) => {
      const ctx = await clientContext(cmd);
      const view = await ctx.api.json<QueueView>('GET', apiPath('queue'));
      ctx.print(view, ({ queues }) => {
        const busy = queues.filter((q) => q.waiting > 0 || q.claimed > 0);
        if (busy.length === 0) return 'every queue is empty';
        return table(
          ['KIND', 'LABELS', 'WAITING', 'RUNNING', 'OLDEST', 'WORKERS', 'WHY'],
          busy.map((q) => [
            q.kind,
            q.labels.join(',') || '-',
            String(q.waiting),
            String(q.claimed),
            duration(q.oldestWaitMs),
            `${q.workers} (${q.freeSlots} free)`,
            q.servable ? (q.reason ?? '') : pc.red(q.reason ?? 'no worker can serve it'),
          ]),
        );
      });
    },
  );
}
