/**
 * Starts the single-node Ceph RGW the tests share (`deploy/local/start-ceph-rgw.sh`, memstore) on free
 * 127.0.0.1 ports and creates the tests' bucket. The script's daemons outlive it; `after.ts` stops them
 * by PID. The script is never run under timeout(1): that would signal the daemons' process group too.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureDebianPackages, freePort, stopPids, waitFor } from './processes.js';
import { type CephRgw, repoRoot } from './services.js';

export type { CephRgw };

export interface CephRgwOptions {
  /** Data, config and logs; wiped by the script. */
  dir: string;
  /** memstore (default): RAM-backed, fast and enough for tests. bluestore: a 4 GiB sparse file. */
  store?: 'memstore' | 'bluestore';
  bucket?: string;
}

const script = join(repoRoot, 'deploy', 'local', 'start-ceph-rgw.sh');
/** The fixed keys the script gives its S3 user. */
const ACCESS_KEY = 'TESTACCESSKEY';
const SECRET_KEY = 'TESTSECRETKEY';
/** A busy port (another run's mon or RGW took it between freePort and bind) fails one attempt. */
const ATTEMPTS = 3;
/** Per-step deadline inside the script; the whole start takes ~1.3 s (memstore) on 2 vCPUs. */
const STEP_DEADLINE_S = 60;

export async function startCephRgw(options: CephRgwOptions): Promise<CephRgw> {
  ensureDebianPackages('/usr/bin/radosgw', ['radosgw', 'ceph-mon', 'ceph-osd']);
  const bucket = options.bucket ?? 'distci-test';
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const rgwPort = await freePort();
    let monPort = await freePort();
    while (monPort === rgwPort) monPort = await freePort();
    const [msMin, msMax] = osdPortRange();
    let pids: number[] = [];
    try {
      pids = await runScript(options.dir, options.store ?? 'memstore', {
        RGW_PORT: String(rgwPort),
        MON_PORT: String(monPort),
        MS_PORT_MIN: String(msMin),
        MS_PORT_MAX: String(msMax),
        S3_ACCESS_KEY: ACCESS_KEY,
        S3_SECRET_KEY: SECRET_KEY,
        WAIT_S: String(STEP_DEADLINE_S),
      });
      const rgw: CephRgw = {
        endpoint: `http://127.0.0.1:${rgwPort}`,
        region: 'us-east-1',
        accessKeyId: ACCESS_KEY,
        secretAccessKey: SECRET_KEY,
        bucket,
        pids,
      };
      await createBucket(rgw);
      return rgw;
    } catch (err) {
      lastError = err;
      await stopPids(pids);
    }
  }
  throw lastError;
}

/**
 * 32 ports for the OSD (it binds 4 with msgr v2 only, skipping ports in use), chosen below the kernel's
 * ephemeral range so that neither freePort() nor outgoing connections compete for them, and at random
 * so that concurrent test runs on one machine rarely share a range (and when they do, the OSD skips).
 */
function osdPortRange(): [number, number] {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {}
  const low = 10_000;
  const high = Math.max(low + 64, ephemeralLow - 32);
  const min = low + Math.floor(Math.random() * ((high - low) / 32)) * 32;
  return [min, min + 31];
}

/** Runs the start script; resolves with the PIDs it prints, rejects with its stderr. */
function runScript(dir: string, store: string, env: Record<string, string>): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, store], {
      env: { ...process.env, ...env, CEPH_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.once('error', reject);
    // 'close', not 'exit': both pipes are drained then. The daemons write to files, not to these pipes.
    child.once('close', (code) => {
      const pids = stdout
        .split('\n')
        .filter((line) => /^\d+$/.test(line))
        .map(Number);
      if (code === 0 && pids.length === 3) resolve(pids);
      else reject(new Error(`${script} exited with ${code}:\n${stderr.trim()}\n(logs in ${join(dir, 'log')})`));
    });
  });
}

/** The first bucket makes RGW create its two bucket pools (~0.1 s with the script's paxos settings). */
async function createBucket(rgw: CephRgw): Promise<void> {
  const client = new S3Client({
    endpoint: rgw.endpoint,
    region: rgw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  });
  let lastError: unknown;
  try {
    await waitFor(
      `bucket ${rgw.bucket} at ${rgw.endpoint}`,
      async () => {
        try {
          await client.send(new CreateBucketCommand({ Bucket: rgw.bucket }));
        } catch (err) {
          if ((err as { name?: string }).name === 'BucketAlreadyOwnedByYou') return true;
          lastError = err;
          return false;
        }
        return true;
      },
      30_000,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last error: ${String(lastError)}`);
  } finally {
    client.destroy();
  }
}
