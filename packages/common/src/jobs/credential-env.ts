/**
 * Warnings for a job whose `env` holds what looks like a credential. `env` is for settings that are not
 * secret: a job config is returned by `GET /api/v1/jobs/:job` (public unless `DISTCI_READ_AUTH=token`)
 * and steps print their env freely, so a token there is a token published. A save still succeeds (a
 * prefix match can be wrong), and the answer carries a warning pointing to secrets.
 */
import type { JobConfig } from './job-config.js';

/**
 * Well-known prefixes of credentials (each vendor's documented format): GitHub (ghp_, gho_, ghu_,
 * ghs_, ghr_, github_pat_), Slack (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-), AWS access key ids (AKIA,
 * ASIA), npm (npm_), GitLab (glpat-), Stripe (sk_live_, rk_live_), OpenAI-style (sk-), PyPI
 * (pypi-), Google API keys (AIza), private keys in PEM form.
 */
const CREDENTIAL = [
  /^gh[pousr]_[A-Za-z0-9]{20,}/,
  /^github_pat_[A-Za-z0-9_]{20,}/,
  /^xox[abprs]-[A-Za-z0-9-]{10,}/,
  /^(AKIA|ASIA)[A-Z0-9]{16}$/,
  /^npm_[A-Za-z0-9]{20,}/,
  /^glpat-[A-Za-z0-9_-]{16,}/,
  /^[sr]k_live_[A-Za-z0-9]{16,}/,
  /^sk-[A-Za-z0-9_-]{20,}/,
  /^pypi-[A-Za-z0-9_-]{16,}/,
  /^AIza[A-Za-z0-9_-]{30,}/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  return CREDENTIAL.some((re) => re.test(v));
}

export interface JobWarning {
  path: string;
  message: string;
}

/** One warning per `env` value (job or step) that looks like a credential; empty when none does. */
export function credentialWarnings(job: JobConfig): JobWarning[] {
  const warnings: JobWarning[] = [];
  const check = (path: string, env: Record<string, string> | undefined) => {
    for (const [name, value] of Object.entries(env ?? {})) {
      if (!looksLikeCredential(value)) continue;
      warnings.push({
        path: `${path}.${name}`,
        message:
          `looks like a credential: env is returned by the API and printed in logs; ` +
          `store it with 'distci secret set ${name}' and list "${name}" in "secrets" instead`,
      });
    }
  };
  check('env', job.env);
  job.steps.forEach((s, i) => {
    check(`steps[${i}].env`, s.env);
  });
  return warnings;
}
