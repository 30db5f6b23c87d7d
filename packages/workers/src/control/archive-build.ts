/**
 * Ends a build: writes its record to the object store, then returns the ops that remove its nodes,
 * update the job's counters and fire the `after` triggers of other jobs — applied in the transaction
 * that completes the control ticket, so a crash can never end a build without firing its downstream
 * builds, nor fire them twice (the fix for DistCI's lost post-build triggers).
 *
 * Idempotent: the record's content depends only on the build's state (finishedAt is the last step's
 * end), so a resumed control worker writes the same bytes again.
 */
import {
  type BlobStore,
  type BuildRecord,
  type BuildState,
  blobKeys,
  type CoordinationStore,
  downstreamJobs,
  encodeJson,
  isDistciError,
  loadJob,
  type Op,
  type PlannedStep,
  readJobNode,
  type StepState,
  triggerOps,
  zpaths,
} from '@distci/common';

export function buildRecord(
  build: BuildState,
  plan: PlannedStep[],
  states: ReadonlyMap<string, StepState>,
  status: BuildRecord['status'],
): BuildRecord {
  const steps = plan.map((p) => {
    const { v: _v, ...state } = states.get(p.id)!;
    return { id: p.id, name: p.name, type: p.type, needs: p.needs, matrix: p.matrix, labels: p.labels, ...state };
  });
  const ends = steps.map((s) => s.finishedAt ?? s.queuedAt);
  return {
    v: 1,
    job: build.job,
    number: build.number,
    status,
    trigger: build.trigger,
    ref: build.ref,
    commit: build.commit ?? steps.find((s) => s.commit)?.commit ?? null,
    params: build.params,
    config: build.config,
    createdAt: build.createdAt,
    startedAt: build.startedAt,
    finishedAt: Math.max(build.startedAt ?? build.createdAt, ...ends),
    cancel: build.cancel,
    steps,
  };
}

export async function archiveBuild(input: {
  store: CoordinationStore;
  blob: BlobStore;
  build: BuildState;
  buildVersion: number;
  plan: PlannedStep[];
  states: ReadonlyMap<string, StepState>;
  /** The step ids that have nodes (steps settled in this very pass have none). */
  stepNodes: string[];
  status: BuildRecord['status'];
}): Promise<Op[]> {
  const { store, blob, build, buildVersion, plan, states, stepNodes, status } = input;
  const record = buildRecord(build, plan, states, status);
  await blob.put(blobKeys.build(build.job, build.number), `${JSON.stringify(record, null, 2)}\n`, {
    contentType: 'application/json',
  });
  const buildPath = zpaths.build(build.job, build.number);
  const ops: Op[] = [
    ...stepNodes.map((id): Op => ({ type: 'delete', path: `${buildPath}/steps/${id}` })),
    { type: 'delete', path: `${buildPath}/steps` },
    { type: 'delete', path: buildPath, version: buildVersion },
  ];
  const { node, version } = await readJobNode(store, build.job);
  ops.push({
    type: 'set',
    path: zpaths.job(build.job),
    data: encodeJson({
      ...node,
      lastFinished: Math.max(node.lastFinished ?? 0, build.number),
      lastSuccessful: status === 'success' ? Math.max(node.lastSuccessful ?? 0, build.number) : node.lastSuccessful,
    }),
    version,
  });
  for (const downstream of await downstreamJobs(store, build.job)) {
    if (downstream === build.job) continue; // a job triggering itself would loop forever
    let job: Awaited<ReturnType<typeof loadJob>>;
    try {
      job = await loadJob(blob, downstream);
    } catch (err) {
      if (isDistciError(err, 'DISTCI_JOB_NOT_FOUND')) continue;
      throw err;
    }
    const wants = (job.config.triggers?.after ?? []).some(
      (a) =>
        a.job === build.job &&
        ((a.on ?? 'success') === 'always' || (a.on ?? 'success') === (status === 'success' ? 'success' : 'failure')),
    );
    if (!wants) continue;
    await store.ensurePath(zpaths.builds(downstream));
    const counter = await readJobNode(store, downstream);
    const fired = await triggerOps(
      store,
      {
        job: downstream,
        config: job.version,
        trigger: { type: 'after', job: build.job, build: build.number, status },
        ref: job.config.repository?.ref ?? null,
      },
      counter.node,
      counter.version,
    );
    ops.push(...fired.ops);
  }
  return ops;
}
