/**
 * The control worker's handler: plans a build, posts the tickets of runnable steps, advances the
 * build as steps finish, applies the build timeout and cancellation, and archives the build.
 *
 * It keeps no state in memory (DistCI's build-control did, and its crash hung the build): every
 * decision is recomputed from the build node, the step states and the immutable config snapshot.
 * Resumable: step states and their tickets are created in one transaction under deterministic ids
 * (`.../steps/<step id>`), so two control workers advancing the same build cannot both post a step —
 * the second transaction fails on `NodeExists` and changes nothing (invariant 8); its ticket is then
 * released (not counted as lost) and the next look finds nothing left to do.
 */
import {
  type BlobStore,
  type BuildState,
  type ControlPayload,
  type CoordinationStore,
  decodeJson,
  decodeTicket,
  encodeJson,
  isDistciError,
  newStepState,
  type Op,
  parseDuration,
  planBuild,
  type StepPayload,
  type StepState,
  stepPath,
  type TicketSpec,
  WORKER_KINDS,
  zpaths,
} from '@distci/common';
import type { Outcome, TicketHandler } from '../ticket-handler.js';
import { archiveBuild } from './archive-build.js';
import type { ConfigCache } from './config-cache.js';
import { decideAdvance } from './decide-advance.js';

export interface ControlHandlerInput {
  blob: BlobStore;
  configs: ConfigCache;
}

async function readSteps(store: CoordinationStore, build: BuildState): Promise<Map<string, StepState>> {
  const parent = `${zpaths.build(build.job, build.number)}/steps`;
  const names = await store.children(parent);
  const states = new Map<string, StepState>();
  await Promise.all(
    names.map(async (n) => {
      try {
        states.set(n, decodeJson<StepState>((await store.get(`${parent}/${n}`)).data));
      } catch (err) {
        if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
      }
    }),
  );
  return states;
}

/**
 * Drops the waiting (unclaimed) tickets of a cancelled build and marks their steps cancelled, each in
 * one small transaction; claimed ones are left to their workers, which watch the build and stop.
 * Cancels are rare, so scanning the queues here costs nothing on the hot path.
 */
async function dropWaitingTickets(store: CoordinationStore, build: BuildState): Promise<void> {
  for (const kind of WORKER_KINDS) {
    if (kind === 'control') continue;
    let queues: string[] = [];
    try {
      queues = await store.children(zpaths.ticketKind(kind));
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
    }
    for (const queue of queues) {
      const base = `${zpaths.ticketKind(kind)}/${queue}`;
      for (const name of await store.children(base).catch(() => [] as string[])) {
        try {
          const { data, stat } = await store.get(`${base}/${name}`);
          const ticket = decodeTicket(data, `${base}/${name}`);
          const p = ticket.payload as Partial<StepPayload>;
          if (p.job !== build.job || p.build !== build.number || ticket.state !== 'waiting' || !p.step) continue;
          const state: StepState = {
            ...newStepState(),
            status: 'cancelled',
            reason: build.cancel?.reason === 'timeout' ? 'timeout' : 'cancelled',
            finishedAt: Date.now(),
          };
          await store.multi([
            { type: 'delete', path: `${base}/${name}`, version: stat.version },
            { type: 'set', path: stepPath(build.job, build.number, p.step), data: encodeJson(state) },
          ]);
        } catch (err) {
          if (!isDistciError(err)) throw err; // claimed or gone meanwhile: its worker handles it
        }
      }
    }
  }
}

export function createControlHandler({ blob, configs }: ControlHandlerInput): TicketHandler {
  return {
    async run({ claim, store }): Promise<Outcome> {
      const payload = claim.ticket.data.payload as ControlPayload;
      const buildPath = zpaths.build(payload.job, payload.build);
      let read: Awaited<ReturnType<CoordinationStore['get']>>;
      try {
        read = await store.get(buildPath);
      } catch (err) {
        if (isDistciError(err, 'DISTCI_NO_NODE')) return { status: 'complete' }; // archived already
        throw err;
      }
      const original = decodeJson<BuildState>(read.data);
      const build: BuildState = { ...original };
      const now = Date.now();
      const config = await configs.get(build.config.key);
      const plan = planBuild(config);
      if (build.status === 'queued') {
        build.status = 'running';
        build.startedAt = now;
        build.deadline = config.timeout ? now + parseDuration(config.timeout) : null;
      }
      if (!build.cancel && build.deadline !== null && now >= build.deadline) {
        build.cancel = { at: now, reason: 'timeout' };
      }
      let buildVersion = read.stat.version;
      let setBuild: Op | null = null;
      if (JSON.stringify(build) !== JSON.stringify(original)) {
        if (build.cancel && !original.cancel) {
          // Tell running steps at once (they watch the build node), before dropping what waits.
          buildVersion = (await store.set(buildPath, encodeJson(build), buildVersion)).version;
        } else {
          setBuild = { type: 'set', path: buildPath, data: encodeJson(build), version: buildVersion };
        }
      }
      if (build.cancel) await dropWaitingTickets(store, build);
      const states = await readSteps(store, build);
      const stepNodes = [...states.keys()];
      const decision = decideAdvance(plan, states, build);
      for (const { step, status } of decision.settle) {
        states.set(step.id, {
          ...newStepState(now),
          status,
          reason: status === 'cancelled' ? (build.cancel?.reason ?? 'cancelled') : null,
          message: status === 'skipped' ? 'a step it needs did not succeed' : 'the build was cancelled before it ran',
          finishedAt: now,
        });
      }
      if (decision.finished && decision.status) {
        const ops = await archiveBuild({
          store,
          blob,
          build,
          buildVersion,
          plan,
          states,
          stepNodes,
          status: decision.status,
        });
        return { status: 'complete', ops };
      }

      const ops: Op[] = setBuild ? [setBuild] : [];
      for (const { step } of decision.settle) {
        ops.push({
          type: 'create',
          path: stepPath(build.job, build.number, step.id),
          data: encodeJson(states.get(step.id)),
        });
      }
      const successors: TicketSpec[] = [];
      for (const step of decision.runnable) {
        const needs = step.needs.map((n) => states.get(n)!);
        const stepPayload: StepPayload = {
          job: build.job,
          build: build.number,
          step: step.id,
          index: step.index,
          config: build.config,
          ref: build.ref ?? config.repository?.ref ?? null,
          commit: build.commit ?? needs.find((s) => s.commit)?.commit ?? null,
          workspaces: needs.map((s) => s.workspace).filter((w): w is string => w !== null),
          matrix: step.matrix,
          deadline: build.deadline,
          upstream: build.trigger.type === 'after' ? { job: build.trigger.job, build: build.trigger.build } : null,
        };
        const stepConfig = config.steps[step.index]!;
        successors.push({
          kind: step.type,
          labels: step.labels,
          priority: stepConfig.priority,
          maxAttempts: stepConfig.maxAttempts,
          payload: stepPayload,
        });
        ops.push({
          type: 'create',
          path: stepPath(build.job, build.number, step.id),
          data: encodeJson(newStepState(now)),
        });
      }
      return { status: 'complete', ops, successors };
    },
  };
}
