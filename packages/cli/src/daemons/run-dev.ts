/** The body of `distci dev` (loaded only when that command runs): start, print, wait or run the demo. */
import { resolve } from 'node:path';
import { compileLogLevel } from '@distci/workers';
import { runDemo } from '../demo/run-demo.js';
import { startDev } from '../dev-server.js';
import { createEventLog } from '../event-log.js';
import { pc } from '../output.js';
import { onShutdown } from '../shutdown.js';

export interface DevFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  labels?: string;
  demo?: boolean;
  json?: boolean;
  quiet?: boolean;
  logLevel?: string;
  isolation?: string;
}

export async function runDev(opts: DevFlags): Promise<void> {
  const dataDir = resolve(opts.dataDir ?? process.env.DISTCI_DATA_DIR ?? '.distci');
  // `--log-level` / DISTCI_LOG_LEVEL: worker events and the daemon's lines (default info) and, when
  // given, the request log too (default warn: stdout is for the URL, the token, the demo's build).
  const level = compileLogLevel(opts.logLevel);
  const log = createEventLog({ json: opts.json, quiet: opts.quiet ?? opts.demo, level });
  const t0 = Date.now();
  const dev = await startDev(
    {
      dataDir,
      // The demo is self-contained: a free port unless told, so a busy 8080 cannot fail it.
      port: opts.port ?? (opts.demo && !process.env.DISTCI_PORT ? 0 : undefined),
      host: opts.host,
      labels: (opts.labels ?? '').split(',').filter(Boolean),
      logLevel: opts.logLevel ?? process.env.DISTCI_LOG_LEVEL,
      isolation: opts.isolation,
    },
    log,
  );
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`${pc.bold('distci dev')} ready in ${Date.now() - t0} ms`);
  out(`  dashboard and API  ${pc.cyan(dev.url)}`);
  out(`  token              ${dev.token} ${pc.dim(`(${dev.tokenCreated ? 'new, ' : ''}kept in ${dataDir}/token)`)}`);
  out(`  data dir           ${dataDir}`);
  onShutdown(() => dev.stop(), log.info);
  if (opts.demo) {
    const code = await runDemo({ url: dev.url, token: dev.token, dataDir }).catch(async (err) => {
      await dev.stop();
      throw err;
    });
    await dev.stop();
    process.exitCode = code;
    return;
  }
  out(pc.dim('  try: npx distci job push jobs/hello.json && npx distci build trigger hello --follow'));
  await dev.workers.done;
  // Reached when a signal drained the workers (onShutdown then exits) or they stopped on their own.
  await dev.stop();
}
