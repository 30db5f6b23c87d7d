/** tap's after-hook: stops the shared services by PID and removes their temp dir. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { stopPids } from './processes.js';
import { servicesFile, type TestServices } from './services.js';

if (existsSync(servicesFile)) {
  const services = JSON.parse(readFileSync(servicesFile, 'utf8')) as TestServices;
  await stopPids([services.zk.pid, ...services.s3.pids]);
  rmSync(services.dir, { recursive: true, force: true });
  rmSync(servicesFile, { force: true });
  console.log('# test services stopped');
}
