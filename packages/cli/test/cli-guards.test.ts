/**
 * Issue 13, hole 9, on a real `distci dev` child process and the real client binary: usage errors exit
 * 2 (not 1, a failed build's code); a log's terminal escape sequences (window title, clipboard, screen
 * switch) are not printed to whoever reads it; the data dir is the owner's only.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { cleanText, createTextCleaner } from '../src/terminal-text.js';
import { runCli, startDev, tempDir } from './helpers/cli-process.js';

const ESC = '\u001b';

t.test('usage errors exit 2, as the README says', async (t) => {
  for (const args of [
    ['build', 'logs'],
    ['job', 'push'],
    ['build', 'list', '--bogus', 'x'],
    ['nosuch'],
    ['build'],
    ['build', 'retry', 'web', '1'],
    ['build', 'retry', 'web', '1', 'test', '--failed'],
  ]) {
    const run = await runCli(t, args);
    t.equal(run.code, 2, `distci ${args.join(' ')}`, { stderr: run.stderr });
  }
  t.equal((await runCli(t, ['build', '--help'])).code, 0, 'help is not an error');
});

t.test('cleanText keeps colours on a terminal and removes every other sequence', async (t) => {
  const evil = `a${ESC}]0;pwned\u0007b${ESC}]52;c;ZXZpbA==${ESC}\\c${ESC}[31mred${ESC}[0m${ESC}[2J${ESC}Pq#0${ESC}\\d${ESC}[?1049h\u0007\be\u009b2J\r\n`;
  t.equal(cleanText(evil, 'tty'), `abc${ESC}[31mred${ESC}[0mde2J\r\n`);
  t.equal(cleanText(evil, 'plain'), 'abcredde2J\r\n');
  t.equal(cleanText(evil, 'raw'), evil);
  // One character at a time: a sequence cut between chunks is held back, not printed in halves.
  const cleaner = createTextCleaner('tty');
  let out = '';
  for (const ch of evil) out += cleaner.push(ch);
  t.equal(out + cleaner.end(), cleanText(evil, 'tty'));
});

t.test('distci build logs does not print a log’s escape sequences; the data dir is 0700, its files 0600', async (t) => {
  const dataDir = join(await tempDir(t), 'data');
  const dev = await startDev(t, dataDir);
  const client = ['--url', dev.url, '--token', dev.token];
  const dir = await tempDir(t);
  const job = join(dir, 'evil.json');
  // The step retitles the terminal, writes the clipboard and switches to the alternate screen.
  const run = String.raw`printf 'start\033]0;pwned\007\033]52;c;ZXZpbA==\033\\\033[?1049h\033[31mred\033[0m end\n'`;
  await writeFile(job, JSON.stringify({ name: 'evil', steps: [{ name: 'say', type: 'exec-shell', run }] }));
  t.equal((await runCli(t, ['job', 'push', job, ...client])).code, 0);
  const follow = await runCli(t, ['build', 'trigger', 'evil', '--follow', ...client]);
  t.equal(follow.code, 0, 'the build succeeded', { stderr: follow.stderr });
  t.notOk(follow.stdout.includes(ESC), 'no escape sequence in the followed output (not a terminal)');
  t.match(follow.stdout, /say\s+│ startred end/);
  const logs = await runCli(t, ['build', 'logs', 'evil', '1', '--step', 'say', ...client]);
  t.notOk(logs.stdout.includes(ESC), 'no escape sequence in build logs (not a terminal)');
  t.match(logs.stdout, /^startred end$/m, JSON.stringify(logs.stdout));
  const raw = await runCli(t, ['build', 'logs', 'evil', '1', '--step', 'say', '--raw', ...client]);
  t.ok(raw.stdout.includes(`${ESC}]52;c;`), '--raw prints the bytes as logged');

  const walk = async (path: string): Promise<string[]> => {
    const out = [path];
    for (const e of await readdir(path, { withFileTypes: true })) {
      if (e.isDirectory()) out.push(...(await walk(join(path, e.name))));
      else if (e.isFile()) out.push(join(path, e.name));
    }
    return out;
  };
  t.equal((await stat(dataDir)).mode & 0o777, 0o700, 'the data dir is 0700');
  const loose: string[] = [];
  for (const path of await walk(dataDir)) {
    if (path.includes(`${join(dataDir, 'git-cache')}`)) continue; // git's own files, inside the 0700 dir
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077) loose.push(`${path.slice(dataDir.length)} ${mode.toString(8)}`);
  }
  t.same(loose, [], 'no file or dir of the stores is open to other users');
});
