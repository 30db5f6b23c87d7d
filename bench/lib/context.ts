/** What every bench section gets: the run's mode, its services, a logger, and the clock of the run. */
import type { BenchServices } from './services.js';

export interface BenchContext {
  /** `--quick`: fewer runs and smaller sizes (a smoke run of ~2 min). */
  quick: boolean;
  services: BenchServices;
  log(line: string): void;
  /** Extra node args per component for profiling (`--profile <component>`). */
  profile: { component: string | null; dir: string };
}

/** `quick` or `full` value of a size. */
export const pick = <T>(ctx: BenchContext, quick: T, full: T): T => (ctx.quick ? quick : full);
