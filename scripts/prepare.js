// npm's `prepare` (run by `npm ci` in this repository): builds tap's plugin set for `npm test`. A
// production install (`npm ci --omit=dev`: the Dockerfile, deploy/README.md) has no tap and runs no
// tests, so there it does nothing instead of failing the install with "tap: not found" (exit 127).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
try {
  require.resolve('tap/package.json');
} catch {
  process.exit(0);
}
const run = spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
process.exit(run.status ?? 1);
