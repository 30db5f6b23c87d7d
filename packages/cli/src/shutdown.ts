/**
 * Shutdown on SIGINT/SIGTERM for the long-running commands: the first signal runs `stop` (drain the
 * workers, then close the frontend and storage) and the process exits with `exitCode` when it is done;
 * a second signal exits at once (code 130), for a drain that waits on a step someone wants gone.
 */
export function onShutdown(stop: (signal: NodeJS.Signals) => Promise<void>, log: (line: string) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: draining (send it again to exit at once)`);
    stop(signal).then(
      () => process.exit(process.exitCode ?? 0),
      (err) => {
        log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
