/**
 * The architecture, checked: every package imports only what its package.json declares, and no
 * source file imports another in a circle. Static: reads the import specifiers of every source file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/harness/services.js';
import { tsFiles } from './source-files.js';

const packagesDir = join(repoRoot, 'packages');

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s+'([^']+)'/g;

export function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const out: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const specifier = m[1] ?? m[2] ?? m[3];
    if (!specifier) continue;
    out.push({ specifier, typeOnly: /^\s*(?:import|export)\s+type\s/.test(m[0]) });
  }
  return out;
}

function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return null;
  if (builtinModules.includes(specifier.split('/')[0]!)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const rootPkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const packages = readdirSync(packagesDir).filter((d) => {
  try {
    return statSync(join(packagesDir, d, 'package.json')).isFile();
  } catch {
    return false;
  }
});

t.test('every import is declared in its package.json', async (t) => {
  for (const dir of packages) {
    const pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
    const deps = new Set(Object.keys(pkg.dependencies ?? {}));
    const devDeps = new Set([
      ...deps,
      ...Object.keys(pkg.devDependencies ?? {}),
      ...Object.keys(rootPkg.devDependencies ?? {}),
      ...Object.keys(rootPkg.dependencies ?? {}),
    ]);
    const undeclared = new Set<string>();
    for (const area of ['src', 'test']) {
      for (const file of tsFiles(join(packagesDir, dir, area))) {
        for (const { specifier, typeOnly } of importsOf(file)) {
          const name = packageOf(specifier);
          if (!name || name === pkg.name) continue;
          // `@types/x` provide the types of `x`: a type-only import of `x` is covered by either.
          const allowed = area === 'src' && dir !== 'testkit' ? deps : devDeps;
          const ok = allowed.has(name) || (typeOnly && (allowed.has(`@types/${name}`) || devDeps.has(name)));
          if (!ok) undeclared.add(`${relative(repoRoot, file)} imports ${name}`);
        }
      }
    }
    t.same([...undeclared], [], `${pkg.name}: imports not declared in its package.json`);
    const used = new Set<string>();
    for (const area of ['src', 'test', 'bin']) {
      for (const file of tsFiles(join(packagesDir, dir, area))) {
        for (const { specifier } of importsOf(file)) {
          const name = packageOf(specifier);
          if (name) used.add(name);
        }
      }
    }
    const unused = [...deps].filter((d) => !used.has(d) && !d.startsWith('@types/'));
    t.same(unused, [], `${pkg.name}: declared dependencies no source file imports`);
  }
});

t.test('no import circles between source files', async (t) => {
  const graph = new Map<string, string[]>();
  for (const dir of packages) {
    for (const file of tsFiles(join(packagesDir, dir, 'src'))) {
      const edges: string[] = [];
      for (const { specifier } of importsOf(file)) {
        if (!specifier.startsWith('.')) continue; // type-only imports count: a circle of types is a circle of meaning
        edges.push(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
      }
      graph.set(file, edges);
    }
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') {
        cycles.push(
          stack
            .slice(stack.indexOf(next))
            .concat(next)
            .map((f) => relative(packagesDir, f))
            .join(' -> '),
        );
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  t.same(cycles, [], 'import circles');
});
