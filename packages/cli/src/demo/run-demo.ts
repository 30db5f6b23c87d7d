/**
 * `distci dev --demo`: makes local git repositories of the samples (`jobs/repos/*`, no internet),
 * pushes every job of `jobs/` with its repository pointed at them, triggers the `pipeline` sample (a
 * DAG: checkout, lint and a 2×2 test matrix in parallel, package, publish), follows it to its end and
 * returns the exit code of its result (0 on success) — through the API, as any client would.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Triggered } from '@distci/common';
import { apiPath, createApiClient } from '../api-client.js';
import { readJobFile } from '../commands/job.js';
import { buildExitCode, followBuild } from '../follow-build.js';
import { pc } from '../output.js';
import { createDemoRepos, withDemoRepository } from './demo-repos.js';

/** The repository's `jobs/` directory (this file is packages/cli/src/demo/run-demo.ts). */
export const JOBS_DIR = fileURLToPath(new URL('../../../../jobs/', import.meta.url));

/** The sample the demo builds. */
export const DEMO_JOB = 'pipeline';

export async function runDemo(input: { url: string; token: string; dataDir: string; job?: string }): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const repos = await createDemoRepos(join(JOBS_DIR, 'repos'), join(input.dataDir, 'demo', 'repos'));
  out(`${pc.bold('demo')} ${repos.size} local git repositories in ${join(input.dataDir, 'demo', 'repos')}`);
  const api = createApiClient({ url: input.url, token: input.token, tokenSource: 'flag', json: false });
  const files = (await readdir(JOBS_DIR)).filter((f) => f.endsWith('.json')).sort();
  const pushed: string[] = [];
  for (const file of files) {
    const config = withDemoRepository(await readJobFile(join(JOBS_DIR, file)), repos);
    await api.json('PUT', apiPath('jobs', config.name), { body: config });
    pushed.push(config.name);
  }
  out(`${pc.bold('demo')} pushed ${pushed.length} jobs from ${JOBS_DIR}: ${pushed.join(', ')}`);
  const job = input.job ?? DEMO_JOB;
  const t = await api.json<Triggered>('POST', apiPath('jobs', job, 'builds'), { body: {} });
  out(`${pc.bold('demo')} triggered ${pc.bold(`${t.job} #${t.number}`)}; following it to its end`);
  const final = await followBuild(api, t.job, t.number, { json: false });
  const code = buildExitCode(final);
  out(
    code === 0
      ? `${pc.bold('demo')} ${pc.green('passed')}. Next: \`npx distci dev\` keeps running; then \`npx distci build trigger lib --follow\` (its success triggers \`app\`)`
      : `${pc.bold('demo')} ${pc.red('failed')}: see the step logs above`,
  );
  return code;
}
