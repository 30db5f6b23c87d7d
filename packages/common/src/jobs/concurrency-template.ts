/**
 * A job's `concurrency.group` template: the group's name for one build (`builds/concurrency-group.ts`
 * runs the groups). Checked when a job is saved (`validateJob`), resolved when a build joins.
 */

/** The variables a group template may use: `{{ job }}`, `{{ ref }}` (spaces inside the braces optional). */
export const GROUP_VARIABLES = ['job', 'ref'] as const;
const VARIABLE = /\{\{\s*([^}]*?)\s*\}\}/g;

/** The problems of a group template: unknown variables (for `validateJob`). */
export function groupTemplateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const m of template.matchAll(VARIABLE)) {
    if (!(GROUP_VARIABLES as readonly string[]).includes(m[1]!)) {
      problems.push(`unknown variable '{{ ${m[1]} }}'; use ${GROUP_VARIABLES.map((v) => `{{ ${v} }}`).join(' or ')}`);
    }
  }
  return problems;
}

/** The group's name for one build: the template with `job` and `ref` (the build's ref as given, '' for none). */
export function resolveGroup(template: string, build: { job: string; ref: string | null }): string {
  return template.replace(VARIABLE, (_all, name: string) => (name === 'job' ? build.job : (build.ref ?? '')));
}
