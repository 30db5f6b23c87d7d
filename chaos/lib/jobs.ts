/**
 * The two jobs the chaos suite runs. `chaos-up`: a checkout, a 3-way matrix writing one file each (a
 * header line naming the shard, then random bytes), and a publish of the three files. `chaos-down`: run
 * after each successful `chaos-up` build, copies that very build's artifacts (sha256 checked by
 * copy-artifacts) and verifies there are three with the right headers. maxAttempts 10: under this many
 * faults a step may lose its worker more than the default 3 times, which ends the build `error` — correct
 * behaviour, but it would hide the artifacts and the downstream build the suite wants to check.
 */
export const UPSTREAM = 'chaos-up';
export const DOWNSTREAM = 'chaos-down';
export const SHARDS = ['1', '2', '3'];
/** Steps of each build (a matrix step counts once per combination). */
export const UPSTREAM_STEPS = 2 + SHARDS.length;
export const DOWNSTREAM_STEPS = 2;

export function upstreamJob(repositoryUrl: string) {
  return {
    name: UPSTREAM,
    description: 'chaos suite: checkout, a matrix, artifacts',
    repository: { url: repositoryUrl, ref: 'main' },
    timeout: '15m',
    steps: [
      { name: 'checkout', type: 'git-checkout', maxAttempts: 10 },
      {
        name: 'build',
        type: 'exec-shell',
        needs: ['checkout'],
        matrix: { shard: SHARDS },
        maxAttempts: 10,
        // ~1 s of work, so that kills land on running steps.
        run: 'mkdir -p out\nsleep 1\n{ echo "shard $shard of build $DISTCI_BUILD"; head -c 32768 /dev/urandom; } > "out/part-$shard.bin"',
      },
      { name: 'publish', type: 'publish-artifacts', needs: ['build'], paths: ['out/**'], maxAttempts: 10 },
    ],
  };
}

export function downstreamJob() {
  return {
    name: DOWNSTREAM,
    description: 'chaos suite: after each successful chaos-up build, with its artifacts',
    triggers: { after: [{ job: UPSTREAM, on: 'success' }] },
    timeout: '15m',
    steps: [
      {
        name: 'fetch',
        type: 'copy-artifacts',
        from: { job: UPSTREAM, build: 'triggering' },
        paths: ['out/**'],
        into: 'in',
        maxAttempts: 10,
      },
      {
        name: 'verify',
        type: 'exec-shell',
        needs: ['fetch'],
        maxAttempts: 10,
        run: `test "$(ls in/out | wc -l)" -eq ${SHARDS.length}\nfor s in ${SHARDS.join(' ')}; do head -n 1 "in/out/part-$s.bin" | grep -q "^shard $s of build "; done`,
      },
    ],
  };
}
