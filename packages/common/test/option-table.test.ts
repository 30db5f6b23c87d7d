/**
 * One option table (issue 10): docs/configuration.md's tables are OPTION_TABLE's, every flag a daemon
 * declares has its row (and every row's flag is declared), and every `DISTCI_*` variable the sources
 * read is a row's env.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@distci/testkit';
import t from 'tap';
import { OPTION_TABLE, type OptionSection, readOption, withOptionTables } from '../src/option-table.js';

t.test('docs/configuration.md shows the tables of OPTION_TABLE (npm run docs:config writes them)', async (t) => {
  const doc = readFileSync(join(repoRoot, 'docs/configuration.md'), 'utf8');
  t.equal(withOptionTables(doc), doc, 'run `npm run docs:config`');
  for (const section of ['storage', 'frontend', 'worker', 'dev', 'client']) {
    t.match(doc, `<!-- options: ${section} -->`, `the ${section} table is in the docs`);
  }
});

/** The long flags `distci <args> --help` lists. */
function helpFlags(args: string[]): Set<string> {
  const out = execFileSync(process.execPath, [join(repoRoot, 'packages/cli/bin/distci.js'), ...args, '--help'], {
    encoding: 'utf8',
  });
  return new Set([...out.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help'));
}

const flagsOf = (sections: OptionSection[]) =>
  new Set(OPTION_TABLE.filter((r) => sections.includes(r.section) && r.flag).map((r) => r.flag!.split(' ')[0]!));

t.test('every flag of a daemon has its row, and every row of its sections is a flag it takes', async (t) => {
  const cases: Array<[string[], OptionSection[]]> = [
    [['frontend'], ['storage', 'frontend']],
    [['worker'], ['storage', 'worker']],
    [['dev'], ['dev']],
  ];
  for (const [args, sections] of cases) {
    const declared = [...helpFlags(args)].sort();
    const table = [...flagsOf(sections)].sort();
    t.same(declared, table, `distci ${args.join(' ')}: flags = OPTION_TABLE's ${sections.join(' + ')} rows`);
  }
  const client = helpFlags(['job', 'list']);
  for (const flag of flagsOf(['client'])) t.ok(client.has(flag), `client commands take ${flag}`);
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

t.test('every DISTCI_* variable the sources read is an option of the table', async (t) => {
  const envs = new Set(OPTION_TABLE.map((r) => r.env).filter(Boolean));
  const read = new Map<string, string>();
  for (const pkg of readdirSync(join(repoRoot, 'packages'))) {
    const src = join(repoRoot, 'packages', pkg, 'src');
    if (pkg === 'testkit' || !statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const file of sources(src)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\benv(?:\.|\[')(DISTCI_[A-Z0-9_]+)/g)) read.set(m[1]!, file);
    }
  }
  t.ok(read.size > 0, 'found the reads');
  for (const [name, file] of read)
    t.ok(envs.has(name), `${name} (read in ${file.slice(repoRoot.length + 1)}) has a row`);
});

t.test('readOption: flag, then env, then default; a bad value names the option', async (t) => {
  t.equal(readOption('frontend', 'port', { port: '9000' }, { DISTCI_PORT: '9001' }), 9000);
  t.equal(readOption('frontend', 'port', {}, { DISTCI_PORT: '9001' }), 9001);
  t.equal(readOption('frontend', 'port', {}, {}), 8080);
  t.equal(readOption('frontend', 'port', { port: '' }, { DISTCI_PORT: '' }), 8080, 'empty is not given');
  t.throws(() => readOption('frontend', 'port', {}, { DISTCI_PORT: 'x' }), {
    code: 'DISTCI_BAD_OPTION',
    message: /DISTCI_PORT='x' is not valid/,
  });
  t.equal(readOption('worker', 'allowLocalRepositories', { allowLocalRepositories: true }, {}), true, 'a boolean flag');
});
