/**
 * The publish-artifacts step kind: the workspace files matching the step's `paths` become the build's
 * artifacts, each at `builds/<job>/<n>/artifacts/<path>` (`distci.artifacts.put`) with a content type, listed in the build's
 * manifest (`artifact-manifest.ts`). Globs: `artifact-paths.ts` (files only, no dotfiles by surprise,
 * links never followed, nothing outside the workspace).
 *
 * Fencing (invariant 4) without attempt-scoped artifact keys, and why that is sound:
 * - Every attempt of a step publishes the same bytes: its input is the immutable workspace named in the
 *   ticket (the committed attempts of the steps it needs) and its globs come from the build's immutable
 *   config snapshot. So a zombie attempt can only ever write what the committed attempt writes.
 * - Artifacts are written create-only (`ifNoneMatch: '*'`): once a path is published its bytes never
 *   change. When the object exists, its sha256 is compared with the local file's: equal (a resumed or
 *   zombie attempt, or the same file from another step) is success; different (another publish step of
 *   this build published other content at that path) fails this step and changes nothing.
 * - The manifest is merged by compare-and-set; merging entries already present writes nothing.
 * So the frontend needs no attempt numbers: it reads the manifest and streams `artifacts/<path>`, whose
 * content is what the manifest's sha256 says, whichever attempt wrote it.
 * Costs: a conditional put of a stream longer than 8 MiB is spooled to a temp file by the S3 adapter
 * (RGW ignores conditions on multipart uploads) and is limited to 5 GiB, S3's single-PUT maximum.
 *
 * Failures: no file matching (unless `optional`), a bad pattern, a path published with other content
 * → `failure`, reason `exit-code`. The object store failing → thrown (the runtime retries the ticket).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline, type Readable, Transform } from 'node:stream';
import { type ArtifactEntry, isDistciError } from '@distci/common';
import { contentType as lookupContentType } from 'mime-types';
import type { StepContext, StepKind, StepRunResult } from '../steps/step-handler.js';
import { findFiles, refuseGlobs, type WorkspaceFile } from './artifact-paths.js';
import { mapLimit } from './map-limit.js';

/**
 * 8 uploads in flight. Measured on the test run's single-node Ceph RGW, 200 PUTs of 10 KB: 1.3-1.5 s
 * one at a time, 0.85-1.05 s with 8, no better with 16 or 32 (the server is the limit there); against
 * a real cluster or over a WAN the round trip dominates and 8 hides most of it without a socket per file.
 */
export const PUBLISH_CONCURRENCY = 8;

/** What a browser may be told a file is: a known type (text with its charset), else opaque bytes. */
export function artifactContentType(path: string): string {
  return lookupContentType(path.split('/').pop() ?? path) || 'application/octet-stream';
}

function failure(ctx: StepContext, message: string): StepRunResult {
  ctx.log.write(`[distci] ${message}\n`);
  return { status: 'failure', reason: 'exit-code', message, workspace: 'unchanged' };
}

/** sha256 and size of a stream, read to the end. */
export async function hashStream(source: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

type Published = { entry: ArtifactEntry } | { conflict: string };

/**
 * Uploads one file create-only, hashing it on the way (see the header for an existing object). A path
 * the manifest already lists (`known`: a resumed attempt, after the first one merged) is only hashed
 * locally and compared: no request at all.
 */
async function publishFile(
  ctx: StepContext,
  file: WorkspaceFile,
  known: ArtifactEntry | undefined,
): Promise<Published> {
  const { job, build } = ctx.payload;
  const contentType = artifactContentType(file.path);
  if (known) {
    const mine = await hashStream(createReadStream(file.abs));
    if (mine.sha256 === known.sha256 && mine.size === known.size) return { entry: { ...known } };
    return { conflict: `'${file.path}' is already published with other content (by step '${known.step}')` };
  }
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // A read error destroys `tap`, and the put fails with it: the put is the one thing awaited.
  pipeline(createReadStream(file.abs), tap, () => {});
  const entry = (sha256: string, bytes: number): ArtifactEntry => ({
    path: file.path,
    size: bytes,
    sha256,
    contentType,
    step: ctx.payload.step,
  });
  try {
    await ctx.distci.artifacts.put(job, build, file.path, tap, contentType);
    return { entry: entry(hash.digest('hex'), size) };
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_BLOB_CONFLICT')) throw err;
  }
  const mine = await hashStream(createReadStream(file.abs));
  const theirs = await hashStream((await ctx.distci.artifacts.open(job, build, file.path)).body);
  if (mine.sha256 === theirs.sha256) return { entry: entry(mine.sha256, mine.size) };
  return { conflict: `'${file.path}' is already published with other content (sha256 ${theirs.sha256})` };
}

export const publishArtifactsKind: StepKind = {
  kind: 'publish-artifacts',
  restoresWorkspace: true,
  async run(ctx) {
    if (ctx.config.type !== 'publish-artifacts')
      return failure(ctx, `step '${ctx.payload.step}' is not publish-artifacts`);
    const { paths, optional = false } = ctx.config;
    const say = (line: string) => ctx.log.write(`[distci] ${line}\n`);
    const started = performance.now();
    const refused = refuseGlobs(paths);
    if (refused) return failure(ctx, `publish-artifacts: ${refused}`);

    const files = await findFiles(ctx.dir, paths);
    if (files.length === 0) {
      const message = `no file in the workspace matches ${JSON.stringify(paths)}`;
      if (!optional) return failure(ctx, `${message} (set "optional": true to allow that)`);
      say(`${message}; optional, so nothing is published`);
      return { status: 'success', artifacts: 0, workspace: 'unchanged' };
    }
    say(`publishing ${files.length} file(s) matching ${JSON.stringify(paths)}`);
    const manifest = await ctx.distci.artifacts.manifest(ctx.payload.job, ctx.payload.build);
    const known = new Map((manifest?.artifacts ?? []).map((e) => [e.path, e]));
    let results: Published[];
    try {
      results = await mapLimit(
        files,
        PUBLISH_CONCURRENCY,
        (file) => publishFile(ctx, file, known.get(file.path)),
        ctx.signal,
      );
    } catch (err) {
      if (ctx.signal.aborted) return { status: 'failure', workspace: 'unchanged' };
      throw err;
    }
    const conflicts = results.flatMap((r) => ('conflict' in r ? [r.conflict] : []));
    if (conflicts.length) {
      return failure(
        ctx,
        `another step of this build published other files at the same paths: ${conflicts.join('; ')}`,
      );
    }
    const entries = results.flatMap((r) => ('entry' in r ? [r.entry] : []));
    for (const e of entries) say(`  ${e.path}  ${e.size} bytes  ${e.contentType}  sha256 ${e.sha256}`);
    const merged = await ctx.distci.artifacts.publish(ctx.payload.job, ctx.payload.build, entries);
    if (merged.conflicts.length) {
      const which = merged.conflicts.map((c) => `'${c.path}' (by step '${c.theirs.step}')`).join(', ');
      return failure(ctx, `the build's manifest already lists other content at ${which}`);
    }
    const bytes = entries.reduce((n, e) => n + e.size, 0);
    say(`published ${entries.length} artifact(s), ${bytes} bytes, in ${Math.round(performance.now() - started)} ms`);
    return { status: 'success', artifacts: entries.length, workspace: 'unchanged' };
  },
};
