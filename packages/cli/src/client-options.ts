/**
 * The options of every client command, compiled once per command (flags, then env, then defaults):
 *
 * | option | flag | env | default |
 * |---|---|---|---|
 * | API URL | `--url` | `DISTCI_URL` | `http://127.0.0.1:8080` |
 * | API token | `--token` | `DISTCI_TOKEN` | the token `distci dev` keeps in `<data dir>/token`, if readable |
 * | machine output | `--json` | — | off |
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cliError, EXIT } from './cli-error.js';
import { readToken } from './token.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ClientOptions {
  readonly url: string;
  readonly token: string | null;
  /** Where the token came from, for the hint of a 401. */
  readonly tokenSource: 'flag' | 'env' | 'data dir' | 'none';
  readonly json: boolean;
}

export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', `distci API URL (env DISTCI_URL; default ${DEFAULT_URL})`)
    .option('--token <token>', 'API token (env DISTCI_TOKEN; default: the one `distci dev` keeps in its data dir)')
    .option('--json', 'print JSON for scripts');
}

export async function compileClientOptions(
  opts: { url?: string; token?: string; json?: boolean },
  env: Record<string, string | undefined> = process.env,
): Promise<ClientOptions> {
  const raw = opts.url ?? env.DISTCI_URL ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw cliError(`--url '${raw}' is not a URL; use one like ${DEFAULT_URL}`, { exitCode: EXIT.usage });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw cliError(`--url '${raw}' must be http:// or https://`, { exitCode: EXIT.usage });
  }
  let token: string | null = opts.token ?? env.DISTCI_TOKEN ?? null;
  let tokenSource: ClientOptions['tokenSource'] = opts.token ? 'flag' : env.DISTCI_TOKEN ? 'env' : 'none';
  if (!token) {
    token = await readToken(resolve(env.DISTCI_DATA_DIR ?? '.distci')).catch(() => null);
    if (token) tokenSource = 'data dir';
  }
  return Object.freeze({ url: url.toString().replace(/\/+$/, ''), token, tokenSource, json: opts.json === true });
}
