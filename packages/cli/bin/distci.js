#!/usr/bin/env node
/**
 * The `distci` binary. It runs the CLI from its TypeScript sources, so `npm ci && npx distci …` works
 * on a fresh clone without a build step:
 * - a resolve hook adds the `distci-source` export condition, so `@distci/*` imports resolve to each
 *   package's `src/*.ts` (what `node --conditions=distci-source` does for the tests);
 * - tsx compiles TypeScript on import, with this package's tsconfig (whatever the working directory).
 */
import { register as registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The AWS SDK prints a 7-line "NodeVersionSupportWarning" on the first S3 client under Node < 22: about
// SDK releases after January 2027, which package-lock.json does not take. distci supports Node 20
// (`engines`), so the block says nothing a user can act on; the SDK's own switch turns it off.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const conditions = `export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('distci-source') ? context.conditions : [...context.conditions, 'distci-source'];
  return next(specifier, { ...context, conditions });
}`;
registerHooks(`data:text/javascript,${encodeURIComponent(conditions)}`, import.meta.url);
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/main.ts');
