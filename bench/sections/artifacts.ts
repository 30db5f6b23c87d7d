/**
 * 6. Artifacts: a build makes 1 × SIZE random bytes (`big`) or COUNT × 10 KB files (`small`) in one
 * exec-shell step, and a publish-artifacts step publishes them. The publish step's time (from its
 * record: restoring the producing step's workspace, hashing, create-only PUTs, the manifest) against raw
 * S3 PUTs of files of the same sizes from the bench process (the SDK's PutObject from a file stream;
 * the small files 8 at a time, as publish-artifacts does).
 */

import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCluster } from '../lib/cluster.js';
import { type BenchContext, pick } from '../lib/context.js';
import { mapLimit, round } from '../lib/stats.js';

export interface ArtifactCase {
  files: number;
  bytes: number;
  /** The publish step, start to finish (s). */
  publishSeconds: number;
  /** The producing step (script + archiving its workspace) (s). */
  produceSeconds: number;
  /** The producing step's workspace archive (bytes; what the publish step restores first). */
  workspaceBytes: number | null;
  rawPutSeconds: number;
  /** publishSeconds ÷ rawPutSeconds. */
  ratio: number;
}

export interface ArtifactsResult {
  big: ArtifactCase;
  small: ArtifactCase;
}

export async function artifacts(ctx: BenchContext): Promise<ArtifactsResult> {
  const size = pick(ctx, 20_000_000, 200_000_000);
  const count = pick(ctx, 100, 1000);
  const cluster = await startCluster({
    services: ctx.services,
    profile: ctx.profile,
    workers: [{ kind: 'control' }, { kind: 'exec-shell' }, { kind: 'publish-artifacts' }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'distci-bench-art-'));
  const s3 = ctx.services.s3;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await cluster.push({
      name: 'bench-art-big',
      steps: [
        { name: 'make', type: 'exec-shell', run: `head -c ${size} /dev/urandom > big.bin` },
        { name: 'publish', type: 'publish-artifacts', paths: ['big.bin'], needs: ['make'] },
      ],
    });
    await cluster.push({
      name: 'bench-art-small',
      steps: [
        {
          name: 'make',
          type: 'exec-shell',
          run: `mkdir small; i=0; while [ $i -lt ${count} ]; do head -c 10000 /dev/urandom > small/f$i.bin; i=$((i+1)); done`,
        },
        { name: 'publish', type: 'publish-artifacts', paths: ['small/**'], needs: ['make'] },
      ],
    });
    const runCase = async (job: string, files: string[]): Promise<ArtifactCase> => {
      const n = await cluster.trigger(job);
      const record = await cluster.finished(job, n);
      if (record.status !== 'success') throw new Error(`${job} #${n} ended ${record.status}`);
      const step = (id: string) => record.steps.find((s) => s.id === id)!;
      const secs = (id: string) => (step(id).finishedAt! - step(id).startedAt!) / 1000;
      const ws = step('make').workspace;
      const workspaceBytes = ws ? ((await cluster.blob.head(ws))?.size ?? null) : null;
      // Raw PUTs of files of the same sizes, under this run's prefix.
      const t0 = performance.now();
      await mapLimit(files, 8, async (file, i) => {
        await client.send(
          new PutObjectCommand({
            Bucket: s3.bucket,
            Key: `${cluster.prefix}raw/${job}/${i}`,
            Body: createReadStream(file),
            ContentLength: statSync(file).size,
          }),
        );
      });
      const rawPutSeconds = (performance.now() - t0) / 1000;
      const out: ArtifactCase = {
        files: files.length,
        bytes: files.reduce((s, f) => s + statSync(f).size, 0),
        publishSeconds: round(secs('publish')),
        produceSeconds: round(secs('make')),
        workspaceBytes,
        rawPutSeconds: round(rawPutSeconds),
        ratio: round(secs('publish') / rawPutSeconds),
      };
      ctx.log(`${job}: ${JSON.stringify(out)}`);
      return out;
    };
    // Files of the same sizes for the raw PUTs (random: as incompressible as the build's).
    const bigFile = join(dir, 'big.bin');
    writeFileSync(bigFile, randomBytes(size));
    mkdirSync(join(dir, 'small'));
    const smallFiles = Array.from({ length: count }, (_, i) => {
      const f = join(dir, 'small', `f${i}.bin`);
      writeFileSync(f, randomBytes(10_000));
      return f;
    });
    const big = await runCase('bench-art-big', [bigFile]);
    const small = await runCase('bench-art-small', smallFiles);
    return { big, small };
  } finally {
    client.destroy();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
