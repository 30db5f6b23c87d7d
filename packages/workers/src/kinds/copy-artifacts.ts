/**
 * The copy-artifacts step kind: artifacts of another build (of this job or another) into the workspace,
 * under `into` (default: the workspace root).
 *
 * 1. The source build: `from.build` is a number; `lastSuccessful` (the default) is read from the job's
 *    node in the coordination store (set when a successful build is archived); `triggering` is the build
 *    whose end triggered this one (`payload.upstream`), and must be of `from.job`.
 * 2. Only finished builds are copied from (their record `build.json` exists): a running build's
 *    manifest may still grow, and a copy must not depend on when it ran.
 * 3. Its manifest is checked whole (`parseManifest`): one path that is absolute or has a `..` segment
 *    refuses the copy — such a manifest was not written by distci.
 * 4. The entries matching `paths` (the same glob rules as publish-artifacts) are downloaded, at most
 *    COPY_CONCURRENCY at once, each into a temp file beside its destination while its sha256 and size
 *    are checked, then renamed into place (`artifact-paths.ts`: no write through a link, no directory
 *    outside the workspace). A corrupt download never reaches its destination.
 *
 * Failures (`StepRunResult.reason`):
 * | what | result |
 * |---|---|
 * | nothing to copy: no such build, no successful build yet, not triggered by a build (of `from.job`), nothing published or matching | `failure`, `exit-code`; with `optional: true`, `success` and a log line |
| a bad `into` or pattern, a destination that is a link to outside or a directory | `failure`, `exit-code` |
 * | a manifest with a bad entry, a download whose sha256 or size differs from the manifest | `failure`, `infrastructure` (the store holds what distci did not write; retrying will not help) |
 * | the stores failing | thrown: the runtime retries the ticket |
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ArtifactEntry, type FailureReason, isDistciError, relativePath } from '@distci/common';
import type { StepContext, StepKind, StepRunResult } from '../steps/step-handler.js';
import { makeDirInside, moveIntoPlace, pathMatcher, refuseGlobs, tempBeside } from './artifact-paths.js';
import { mapLimit } from './map-limit.js';

/** 8 downloads in flight, for the same reason as PUBLISH_CONCURRENCY. */
export const COPY_CONCURRENCY = 8;

function failure(ctx: StepContext, message: string, reason: FailureReason = 'exit-code'): StepRunResult {
  ctx.log.write(`[distci] ${message}\n`);
  return { status: 'failure', reason, message, workspace: 'unchanged' };
}

/** A failure of one copy, reported as the step's result. */
class CopyRefused extends Error {
  constructor(
    message: string,
    readonly reason: FailureReason,
  ) {
    super(message);
  }
}

/** The source build's number, or why there is none. */
async function sourceBuild(
  ctx: StepContext,
  job: string,
  build: number | 'lastSuccessful' | 'triggering',
): Promise<number | { none: string }> {
  if (typeof build === 'number') return build;
  if (build === 'triggering') {
    const upstream = ctx.payload.upstream;
    if (!upstream) {
      return {
        none: `build ${ctx.payload.job}#${ctx.payload.build} was not triggered by another build, so it has no 'triggering' build to copy from`,
      };
    }
    if (upstream.job !== job) {
      return {
        none: `build ${ctx.payload.job}#${ctx.payload.build} was triggered by ${upstream.job}#${upstream.build}, not by job '${job}'`,
      };
    }
    return upstream.build;
  }
  // Read, never create: `readJobNode` would create the node of a job name that is only a typo.
  const node = await ctx.distci.jobs.node(job);
  if (node?.lastSuccessful == null) return { none: `job '${job}' has no successful build yet` };
  return node.lastSuccessful;
}

/** Downloads one entry to `dest` via a temp file, checking its sha256 and size on the way. */
async function copyEntry(ctx: StepContext, from: { job: string; build: number }, entry: ArtifactEntry, into: string) {
  const rel = into === '.' ? entry.path : `${into}/${entry.path}`;
  const slash = rel.lastIndexOf('/');
  const dir = await makeDirInside(ctx.dir, slash < 0 ? '.' : rel.slice(0, slash));
  const dest = join(dir, rel.slice(slash + 1));
  const temp = tempBeside(dest);
  const hash = createHash('sha256');
  let size = 0;
  const { body } = await ctx.distci.artifacts.open(from.job, from.build, entry.path);
  try {
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }),
      // `wx`: O_EXCL, so the temp name is ours and no link planted there is followed.
      createWriteStream(temp, { flags: 'wx', mode: 0o644 }),
      { signal: ctx.signal },
    );
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== entry.sha256 || size !== entry.size) {
    await unlink(temp).catch(() => {});
    throw new CopyRefused(
      `artifact '${entry.path}' of ${from.job}#${from.build} is corrupt: ${size} bytes with sha256 ${sha256}, the manifest says ${entry.size} bytes with sha256 ${entry.sha256}`,
      'infrastructure',
    );
  }
  try {
    await moveIntoPlace(temp, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new CopyRefused(`cannot write '${rel}': a directory of that name is in the workspace`, 'exit-code');
    }
    throw err;
  }
}

export const copyArtifactsKind: StepKind = {
  kind: 'copy-artifacts',
  restoresWorkspace: true,
  async run(ctx) {
    if (ctx.config.type !== 'copy-artifacts') return failure(ctx, `step '${ctx.payload.step}' is not copy-artifacts`);
    const { from, paths, optional = false } = ctx.config;
    const say = (line: string) => ctx.log.write(`[distci] ${line}\n`);
    const started = performance.now();
    const refused = refuseGlobs(paths);
    if (refused) return failure(ctx, `copy-artifacts: ${refused}`);
    let into = (ctx.config.into ?? '.').replace(/\/+$/, '');
    if (into === '' || into === '.' || into === './') into = '.';
    else {
      try {
        into = relativePath(into.replace(/^\.\//, ''), 'into');
      } catch (err) {
        return failure(ctx, `copy-artifacts: ${(err as Error).message}`);
      }
    }

    // `optional` covers every "nothing to copy" (no such build, none successful yet, not triggered by a
    // build, nothing published or matching); refusals (bad manifest, corrupt file, link to outside) fail.
    const nothing = (message: string): StepRunResult => {
      if (!optional) return failure(ctx, `${message} (set "optional": true to allow that)`);
      say(`${message}; optional, so nothing is copied`);
      return { status: 'success', workspace: 'unchanged' };
    };
    const wanted = from.build ?? 'lastSuccessful';
    const number = await sourceBuild(ctx, from.job, wanted);
    if (typeof number !== 'number') return nothing(number.none);
    const source = `${from.job}#${number}`;
    if (!(await ctx.distci.builds.finished(from.job, number))) {
      return nothing(`job '${from.job}' has no finished build ${number}`);
    }
    let manifest: Awaited<ReturnType<typeof ctx.distci.artifacts.manifest>>;
    try {
      manifest = await ctx.distci.artifacts.manifest(from.job, number);
    } catch (err) {
      if (isDistciError(err, 'DISTCI_BAD_PATH')) return failure(ctx, (err as Error).message, 'infrastructure');
      throw err;
    }
    const matches = pathMatcher(paths);
    const entries = (manifest?.artifacts ?? []).filter((e) => matches(e.path));
    if (entries.length === 0) {
      return nothing(
        `no artifact of ${source} (${wanted}) matches ${JSON.stringify(paths)}${manifest ? '' : ': it published none'}`,
      );
    }
    say(`copying ${entries.length} artifact(s) of ${source} (${wanted}) into ${into === '.' ? 'the workspace' : into}`);
    try {
      // `into` itself first: a bad one fails the step with the same message whatever the entries,
      // before anything is written (entries are copied in parallel, so the first to fail would vary).
      await makeDirInside(ctx.dir, into);
      await mapLimit(
        entries,
        COPY_CONCURRENCY,
        (e) => copyEntry(ctx, { job: from.job, build: number }, e, into),
        ctx.signal,
      );
    } catch (err) {
      if (ctx.signal.aborted) return { status: 'failure', workspace: 'unchanged' };
      if (err instanceof CopyRefused) return failure(ctx, err.message, err.reason);
      if (isDistciError(err, 'DISTCI_BAD_PATH')) return failure(ctx, (err as Error).message);
      throw err;
    }
    for (const e of entries) say(`  ${e.path}  ${e.size} bytes  sha256 ${e.sha256}`);
    const bytes = entries.reduce((n, e) => n + e.size, 0);
    say(`copied ${entries.length} file(s), ${bytes} bytes, in ${Math.round(performance.now() - started)} ms`);
    return { status: 'success', workspace: 'changed' };
  },
};
