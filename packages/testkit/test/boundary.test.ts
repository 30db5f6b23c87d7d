/**
 * The domain boundary, checked (issue 10; bullmq's rule: callers never talk to the datastore): only the
 * domain layer (`packages/common/src`: keys, protocol, builds, jobs, webhooks, and `openDistci`) and
 * the storage adapters build znode paths and object keys or compose coordination ops. Every other
 * source file asks the domain (`openDistci(storage)` → jobs, builds, tickets, logs, artifacts,
 * workspaces, webhooks) by name. This test fails when a source file elsewhere imports a key builder or
 * an op-building name from `@distci/common`, and lists each offender with the names it imports.
 *
 * Static: reads each file's `import … from '@distci/common'` (and `export … from`) statements.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/harness/services.js';
import { tsFiles } from './source-files.js';

const packagesDir = join(repoRoot, 'packages');

/**
 * The key builders and the names that build coordination ops (or hand out raw ones): `Op` is the type an
 * op literal is written against; the functions return ops or paths a caller would put into a `multi`.
 */
export const FORBIDDEN = new Set([
  'zpaths',
  'blobKeys',
  'stepPath',
  'claimPath',
  'Op',
  'OpResult',
  'triggerOps',
  'prepareTicketOps',
  'ticketCreateOp',
  'stepResult',
  'finishTicket',
  'failExhaustedTicket',
]);

/** Where building keys and ops is the job: the domain itself, and the adapters that execute ops. */
const DOMAIN_AND_ADAPTERS = [
  'packages/common/src/',
  'packages/store-zookeeper/src/',
  'packages/store-embedded/src/',
  'packages/store-s3/src/',
  'packages/store-directory/src/',
  'packages/storage/src/',
  // The ticket protocol's conformance suite: it checks the domain's op-level contract (a ticket's
  // fenced finish applies exactly the given ops) on each adapter, so it speaks in ops by design.
  'packages/testkit/src/conformance/',
];

const FROM_COMMON = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(\{[^}]*\}|\*\s+as\s+\w+)\s+from\s+'@distci\/common'/g;

/** The names a file takes from `@distci/common` (`*` for a namespace import, which hides what it uses). */
export function commonNamesOf(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(FROM_COMMON)) {
    const clause = m[1]!;
    if (clause.startsWith('*')) {
      names.push('*');
      continue;
    }
    for (const part of clause.slice(1, -1).split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]!
        .trim();
      if (name) names.push(name);
    }
  }
  return names;
}

/** Source files outside the domain and adapters that import a forbidden name, with those names. */
export function offenders(allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(packagesDir)) {
    for (const file of tsFiles(join(packagesDir, dir, 'src'))) {
      const rel = relative(repoRoot, file);
      if (allowed.some((prefix) => rel.startsWith(prefix))) continue;
      const bad = commonNamesOf(readFileSync(file, 'utf8')).filter((n) => n === '*' || FORBIDDEN.has(n));
      if (bad.length) out.push(`${rel}: ${bad.join(', ')}`);
    }
  }
  return out.sort();
}

t.test('the parser sees named, renamed, type-only and namespace imports', async (t) => {
  const text = [
    "import { type Op, zpaths as z, readBuild } from '@distci/common';",
    "import type { BlobStore } from '@distci/common';",
    "export { blobKeys } from '@distci/common';",
    "import * as common from '@distci/common';",
    "import { zpaths } from './keys.js';",
  ].join('\n');
  t.same(commonNamesOf(text), ['Op', 'zpaths', 'readBuild', 'BlobStore', 'blobKeys', '*']);
});

t.test('only the domain layer and the adapters build keys or compose ops', async (t) => {
  const found = offenders(DOMAIN_AND_ADAPTERS);
  t.same(found, [], `files that import key builders or op builders from @distci/common:\n${found.join('\n')}`);
});
