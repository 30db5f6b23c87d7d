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

const conditions = `export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('distci-source') ? context.conditions : [...context.conditions, 'distci-source'];
  return next(specifier, { ...context, conditions });
}`;
registerHooks(`data:text/javascript,${encodeURIComponent(conditions)}`, import.meta.url);
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/main.ts');
