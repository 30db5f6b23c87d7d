/**
 * Watches for a live stream: one-shot coordination-store watches, each path armed at most once at a
 * time (re-armed only after it fired), all feeding one "something changed" latch the stream's loop
 * waits on. Arming once matters: a stream re-reads its build on every change, and a watcher left on
 * every read would pile up callbacks on the session for as long as the build runs.
 *
 * A `session-lost` event drops every watch of the session (the store fires each once): the set forgets
 * them all, so the next pass arms them again on the new session.
 */
import { type CoordinationStore, isDistciError, type WatchEvent } from '@distci/common';

/** A latch: `notify()` from callbacks, `wait()` from the loop. */
export class Changes {
  private pending = false;
  private poked = false;
  private wake: (() => void) | null = null;

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /**
   * Ends the current (or next) wait early without marking a change: new log chunks are in memory,
   * nothing needs re-reading.
   */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  /**
   * Resolves `true` at once if something changed since the last call, else at the next change; `false`
   * after `timeoutMs` or when `signal` aborts. Clears the latch.
   */
  async wait(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    if (!this.pending && !this.poked && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wake = null;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    const changed = this.pending;
    this.pending = false;
    this.poked = false;
    return changed;
  }
}

export class WatchSet {
  private readonly armed = new Set<string>();
  private closed = false;

  constructor(
    private readonly store: CoordinationStore,
    readonly changes: Changes,
  ) {}

  private watcher(key: string) {
    return (event: WatchEvent) => {
      if (this.closed) return;
      if (event.type === 'session-lost') this.armed.clear();
      else this.armed.delete(key);
      this.changes.notify();
    };
  }

  /** A data/existence watch on `path` (fires on create, change, delete). */
  async exists(path: string): Promise<void> {
    const key = `e:${path}`;
    if (this.armed.has(key)) return;
    this.armed.add(key);
    try {
      await this.store.exists(path, this.watcher(key));
    } catch (err) {
      this.armed.delete(key);
      throw err;
    }
  }

  /** The children of `path` (empty when it does not exist), with a child watch armed once. */
  async children(path: string): Promise<string[]> {
    const key = `c:${path}`;
    const arm = !this.armed.has(key);
    if (arm) this.armed.add(key);
    try {
      return await this.store.children(path, arm ? this.watcher(key) : undefined);
    } catch (err) {
      if (arm) this.armed.delete(key);
      if (isDistciError(err, 'DISTCI_NO_NODE')) {
        await this.exists(path); // learn when it appears
        return [];
      }
      throw err;
    }
  }

  /** Callbacks still pending on the session become no-ops. */
  close(): void {
    this.closed = true;
  }
}
