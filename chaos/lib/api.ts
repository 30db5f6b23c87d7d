/**
 * The suite's HTTP client: every request goes to a frontend that is up (the first that answers), with a
 * timeout; jobs are pushed and builds triggered and listed through the API, as a user would.
 */

/** 10 s: a frontend waiting on a frozen RGW or a ZooKeeper election answers within its own timeouts. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface BuildSummary {
  number: number;
  status: string;
  live: boolean;
}

export class ChaosApi {
  constructor(
    private readonly urls: () => string[],
    private readonly token: string,
  ) {}

  /** One request to the first live frontend that accepts the connection; throws on no answer. */
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let lastError: unknown = new Error('no frontend is up');
    for (const url of this.urls()) {
      try {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {}
        return { status: res.status, json };
      } catch (err) {
        lastError = err;
        // A refused connection never reached the frontend: try the next one. Anything else may have.
        if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') throw err;
      }
    }
    throw lastError;
  }

  async push(config: { name: string }): Promise<void> {
    const res = await this.request('PUT', `/api/v1/jobs/${config.name}`, config);
    if (res.status >= 300) throw new Error(`PUT job ${config.name}: ${res.status} ${JSON.stringify(res.json)}`);
  }

  /**
   * Triggers a build. `number` when the API confirmed it; `ambiguous` when the request may have reached a
   * frontend that died before answering (the build may exist: the checks count builds from ZooKeeper).
   */
  async trigger(job: string): Promise<{ number: number } | { error: string; ambiguous: boolean }> {
    try {
      const res = await this.request('POST', `/api/v1/jobs/${job}/builds`, {});
      if (res.status === 201) return { number: (res.json as { number: number }).number };
      return { error: `${res.status} ${JSON.stringify(res.json).slice(0, 200)}`, ambiguous: res.status >= 500 };
    } catch (err) {
      return { error: String(err), ambiguous: true };
    }
  }

  /** Every build of a job (all pages), newest first. */
  async builds(job: string): Promise<BuildSummary[]> {
    const all: BuildSummary[] = [];
    let before: number | null = null;
    for (let page = 0; page < 1000; page++) {
      const q: string = before === null ? '' : `&before=${before}`;
      const res = await this.request('GET', `/api/v1/jobs/${job}/builds?limit=100${q}`);
      if (res.status !== 200) throw new Error(`list ${job}: ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
      const body = res.json as { builds: BuildSummary[]; next: number | null };
      all.push(...body.builds);
      if (body.next === null) break;
      before = body.next;
    }
    return all;
  }
}
