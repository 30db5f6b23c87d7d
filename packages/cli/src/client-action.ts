/**
 * Glue for client commands: compiles the client options of the command, makes the API client, and
 * prints the result — JSON with `--json`, the command's human rendering otherwise.
 */
import type { Command } from 'commander';
import { type ApiClient, createApiClient } from './api-client.js';
import { type ClientOptions, compileClientOptions } from './client-options.js';

export interface ClientContext {
  api: ApiClient;
  options: ClientOptions;
  /** Prints a value: as JSON with `--json`, else through `human`. */
  print<T>(value: T, human: (value: T) => string): void;
  /** A line of human output (nothing with `--json`). */
  say(line: string): void;
}

export async function clientContext(cmd: Command): Promise<ClientContext> {
  const options = await compileClientOptions(cmd.opts());
  const api = createApiClient(options);
  return {
    api,
    options,
    print(value, human) {
      process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`);
    },
    say(line) {
      if (!options.json) process.stdout.write(`${line}\n`);
    },
  };
}
