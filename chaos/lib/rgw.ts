/**
 * The chaos suite's object store: the test harness's single-node Ceph (`startCephRgw`, the project's
 * `deploy/local/start-ceph-rgw.sh`, memstore), plus what the faults need: freeze (SIGSTOP) and resume
 * the RGW daemon, and kill it and start it again with the same config. The mon and the OSD (which holds
 * the data, in RAM) are never touched, so nothing written is lost by an RGW restart.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { type CephRgw, isAlive, startCephRgw, stopPids, waitFor } from '@distci/testkit';

/** 60 s: RGW reconnecting to its mon and OSD on a loaded 2-core machine (≈1 s when idle). */
const RESTART_TIMEOUT_MS = 60_000;

export interface ChaosRgw {
  s3: CephRgw;
  pids(): number[];
  freeze(): void;
  resume(): void;
  kill(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRgw(dir: string, bucket: string): Promise<ChaosRgw> {
  const s3 = await startCephRgw({ dir, bucket });
  // The script prints mon, osd, rgw in that order.
  const pids = [...s3.pids];
  const rgwIndex = 2;
  return {
    s3,
    pids: () => pids,
    freeze: () => process.kill(pids[rgwIndex]!, 'SIGSTOP'),
    resume: () => process.kill(pids[rgwIndex]!, 'SIGCONT'),
    kill() {
      try {
        process.kill(pids[rgwIndex]!, 'SIGKILL');
      } catch {}
    },
    async restart() {
      const out = openSync(join(dir, 'log', 'rgw.out'), 'a');
      const child = spawn('radosgw', ['-n', 'client.rgw.a', '-f'], {
        env: { ...process.env, CEPH_CONF: join(dir, 'ceph.conf') },
        stdio: ['ignore', out, out],
        detached: true,
      });
      closeSync(out);
      child.unref();
      pids[rgwIndex] = child.pid!;
      await waitFor(
        'RGW to serve again',
        async () => {
          if (!isAlive(child.pid!)) throw new Error('radosgw exited');
          const res = await fetch(`${s3.endpoint}/`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return true;
        },
        RESTART_TIMEOUT_MS,
      );
    },
    async stop() {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {}
      }
      await stopPids(pids);
    },
  };
}
