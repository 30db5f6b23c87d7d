/** Jittered exponential backoff (from the domain, shared with the ticket protocol), a jittered timer, a shuffle. */
export { backoffMs, delay } from '@distci/common';

/** `ms` ± 20 %. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}

/** Shuffles in place (Fisher-Yates). */
export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
