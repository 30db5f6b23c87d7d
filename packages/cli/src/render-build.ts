/** How a build and its steps look to people: `build show`, and the summary at the end of a follow. */
import type { BuildView, StepView } from '@distci/common';
import { ago, duration, mark, pc, status, table } from './output.js';

export function stepNote(s: StepView): string {
  return [
    s.message,
    s.reason && s.reason !== 'exit-code' ? s.reason : null,
    s.cacheHit ? 'cache hit' : null,
    s.copiedFrom ? `copied from #${s.copiedFrom}` : null,
    s.waiting ? `waiting: ${s.waiting}` : null,
  ]
    .filter(Boolean)
    .join('; ');
}

export function stepTime(s: StepView): string {
  if (s.finishedAt && s.startedAt) return duration(s.finishedAt - s.startedAt);
  return s.startedAt ? `since ${ago(s.startedAt)}` : '';
}

export function renderBuild(b: BuildView): string {
  const took = b.finishedAt && b.startedAt ? ` in ${duration(b.finishedAt - b.startedAt)}` : '';
  const facts = [b.trigger.type, b.ref ? `ref ${b.ref}` : null, b.commit ? `commit ${b.commit.slice(0, 12)}` : null];
  const head = `${pc.bold(`${b.job} #${b.number}`)} ${status(b.status)}${took} ${pc.dim(
    `(${facts.filter(Boolean).join(', ')}; created ${ago(b.createdAt)})`,
  )}`;
  // Params are the build's inputs: show every one (declared params have their defaults filled in).
  const params = Object.entries(b.params ?? {});
  const lines = [head];
  if (params.length) lines.push(`${pc.dim('params')} ${params.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  // Why it does not start yet (its concurrency group), or why it was cancelled when no person did.
  if (b.waiting) lines.push(`${pc.yellow('⧗')} ${b.waiting}`);
  if (b.cancel?.message) lines.push(`${pc.yellow('-')} cancelled: ${b.cancel.message}`);
  const withParams = lines.join('\n');
  if (b.steps.length === 0) return withParams;
  const rows = b.steps.map((s) => [
    `${mark(s.status)} ${s.id}`,
    status(s.status),
    stepTime(s),
    s.attempt === null ? '' : String(s.attempt),
    stepNote(s),
  ]);
  return `${withParams}\n${table(['STEP', 'STATUS', 'TIME', 'ATTEMPT', 'NOTE'], rows)}`;
}
