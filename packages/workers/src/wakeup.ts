/**
 * A level-triggered wake-up: `notify()` marks it set; `wait()` resolves at once when set (and clears
 * it), otherwise at the next notify, the timeout, or the abort. Watches, freed capacity and session
 * changes all notify the one claim loop, which then looks at the world again.
 */
export class Wakeup {
  #set = false;
  #waiters: Array<() => void> = [];

  notify(): void {
    this.#set = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves true when notified, false on timeout or abort. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#set) {
      this.#set = false;
      return Promise.resolve(true);
    }
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (notified: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== onNotify);
        if (notified) this.#set = false;
        resolve(notified);
      };
      const onNotify = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(onNotify);
    });
  }
}
