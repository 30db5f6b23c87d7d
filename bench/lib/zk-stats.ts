/**
 * Counting ZooKeeper write transactions, from the server's side (the workers are other processes, so
 * an in-process counting proxy cannot see their writes):
 * - `srvr`'s `Zxid` is the id of the last committed transaction. Every write request the server
 *   accepts — a multi, a create, a set, a failed one (logged as an error transaction), a session's
 *   creation and close — takes exactly one zxid. So the zxid delta over a window is the number of write
 *   transactions in it, whoever sent them. This works against any server (given endpoints too).
 * - When the bench runs its own server, the transaction log itself is decoded with ZooKeeper's
 *   `TxnLogToolkit` and each transaction in the window is classified by its ops and paths (claim,
 *   completion, trigger, presence, session, failed, other), so the count per build can be split up and
 *   the presence heartbeat (visibility only) told apart from the work.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fourLetterWord } from '@distci/testkit';

const run = promisify(execFile);

function port(zk: string): number {
  return Number(zk.split(',')[0]!.split(':')[1]);
}

/** The last committed zxid (its low 32 bits: the counter within the current epoch). */
export async function lastZxid(zk: string): Promise<number> {
  const srvr = await fourLetterWord(port(zk), 'srvr');
  const m = /Zxid: 0x([0-9a-f]+)/.exec(srvr);
  if (!m) throw new Error(`no Zxid in srvr's answer: ${srvr}`);
  return Number(BigInt(`0x${m[1]}`) & 0xffffffffn);
}

/** `mntr` as a map (for the packet counters and the server's version). */
export async function mntr(zk: string): Promise<Record<string, string>> {
  const text = await fourLetterWord(port(zk), 'mntr');
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((kv) => kv.length === 2) as Array<[string, string]>,
  );
}

export type TxnClass = 'trigger' | 'claim' | 'completion' | 'release' | 'presence' | 'session' | 'failed' | 'other';

export interface Txn {
  zxid: number;
  session: string;
  type: string;
  /** Op names of a multi (setData, create, delete, check) or the single op. */
  ops: string[];
  paths: string[];
  cls: TxnClass;
}

/** Classifies one decoded transaction by its ops and paths (the layout of `keys.ts`). */
export function classify(type: string, ops: string[], paths: string[]): TxnClass {
  if (type === 'createSession' || type === 'closeSession') return 'session';
  if (type === 'error' || ops.includes('error')) return 'failed';
  if (type !== 'multi' && paths.length === 0) return 'other';
  if (paths.length > 0 && paths.every((p) => p.includes('/workers/'))) return 'presence';
  if (type === 'multi') {
    if (ops[0] === 'setData' && ops[1] === 'create' && paths[1]?.includes('/claims/') && ops.length === 2)
      return 'claim';
    if (ops[0] === 'delete' && paths[0]?.includes('/claims/')) {
      return ops[1] === 'setData' && ops.length === 2 ? 'release' : 'completion';
    }
    if (paths.some((p) => /\/builds\/b-\d{10}$/.test(p)) && ops[0] === 'setData' && ops.includes('create')) {
      return 'trigger';
    }
  }
  return 'other';
}

const LINE =
  /^\d{1,2}\/\d{1,2}\/\d{2,4}, [^ ]+ [AP]M \S+ session (0x[0-9a-f]+) cxid 0x[0-9a-f]+ zxid 0x([0-9a-f]+) (\S+)([\s\S]*)$/;

/** Decodes the server's transaction logs and returns the transactions with zxid in (from, to]. */
export async function readTxnLog(dataDir: string, from: number, to: number): Promise<Txn[]> {
  const dir = join(dataDir, 'version-2');
  const logs = readdirSync(dir)
    .filter((f) => f.startsWith('log.'))
    .sort((a, b) => Number.parseInt(a.slice(4), 16) - Number.parseInt(b.slice(4), 16));
  const cp = ['/usr/share/java/zookeeper.jar', '/usr/share/java/zookeeper-jute.jar', '/usr/share/java/slf4j-api.jar'];
  const out: Txn[] = [];
  for (const log of logs) {
    // A log file is named after its first zxid: skip those that end before the window.
    const { stdout } = await run(
      'java',
      ['-cp', cp.join(':'), 'org.apache.zookeeper.server.persistence.TxnLogToolkit', '-d', join(dir, log)],
      { maxBuffer: 1 << 30, encoding: 'latin1' },
    );
    let current: { zxid: number; session: string; type: string; rest: string } | null = null;
    const flush = () => {
      if (!current || current.zxid <= from || current.zxid > to) return;
      const { type, rest } = current;
      let ops: string[] = type === 'multi' ? [] : [type];
      let paths: string[] = [];
      if (type === 'multi') {
        // `op:` then the path's 4-byte length (binary; its last byte may even be '/') then the path (the
        // characters znode names have in distci), then binary again.
        for (const m of rest.matchAll(
          /(setData|create2|create|delete|check|error):([^/]{0,8})(\/[\w.~,@=+[\]/-]*)?/g,
        )) {
          ops.push(m[1] === 'create2' ? 'create' : m[1]!);
          if (m[3]) paths.push(m[3].startsWith('//') ? m[3].slice(1) : m[3]);
        }
      } else {
        const p = /^\s*(\/[^,\s]*)/.exec(rest);
        if (p) paths = [p[1]!];
        else if (type === 'error') ops = [`error ${rest.trim()}`];
      }
      out.push({ zxid: current.zxid, session: current.session, type, ops, paths, cls: classify(type, ops, paths) });
    };
    for (const line of stdout.split('\n')) {
      const m = LINE.exec(line);
      if (m) {
        flush();
        current = { session: m[1]!, zxid: Number(BigInt(`0x${m[2]}`) & 0xffffffffn), type: m[3]!, rest: m[4] ?? '' };
      } else if (current) {
        current.rest += `\n${line}`;
      }
    }
    flush();
  }
  return out;
}

/** Counts by class. */
export function countByClass(txns: readonly Txn[]): Record<TxnClass, number> {
  const counts: Record<TxnClass, number> = {
    trigger: 0,
    claim: 0,
    completion: 0,
    release: 0,
    presence: 0,
    session: 0,
    failed: 0,
    other: 0,
  };
  for (const t of txns) counts[t.cls]++;
  return counts;
}

/**
 * Failed transactions by what failed (a multi, or a single op with its error code: -101 NoNode, -110
 * NodeExists, -103 BadVersion) and who sent it, told from what each session did in the window: a
 * session that claims control tickets is the control worker, one that claims other tickets a step
 * worker, one that only triggers a frontend. A frontend's failed multi is a trigger that lost the job
 * counter's compare-and-set; a worker's, a lost claim race (or a fenced finish).
 */
export function failedBreakdown(txns: readonly Txn[]): Record<string, number> {
  // Who each session is, from what it did in the window.
  const role = new Map<string, string>();
  for (const t of txns) {
    if (t.cls === 'claim')
      role.set(t.session, /\/claims\/control\//.test(t.paths[1] ?? '') ? 'control' : 'step worker');
  }
  for (const t of txns) if (t.cls === 'trigger' && !role.has(t.session)) role.set(t.session, 'frontend');
  const out: Record<string, number> = {};
  for (const t of txns) {
    if (t.cls !== 'failed') continue;
    const who = role.get(t.session) ?? 'other';
    const what = t.type === 'multi' ? 'multi' : (t.ops[0] ?? 'error');
    const key = `${what} by ${who}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
