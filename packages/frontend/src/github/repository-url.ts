/**
 * One form for every way to write a repository URL, so a webhook's repository matches a job's
 * `repository.url` however either is spelled: `https://github.com/Octo/Repo.git`,
 * `http://…/octo/repo/`, `ssh://git@github.com:22/octo/repo.git`, `git://github.com/octo/repo`,
 * `git@github.com:octo/repo.git` and `github.com/octo/repo` all become `github.com/octo/repo`.
 *
 * Scheme, user info, port, a trailing `/` and `.git` are dropped; host *and path* are lower-cased:
 * GitHub (the only sender of these webhooks) treats owner and repository names case-insensitively.
 * Returns null for what is not a remote repository URL (e.g. `file:///srv/repo`).
 */
export function normaliseRepositoryUrl(url: string): string | null {
  const s = url.trim();
  let host: string;
  let path: string;
  const withScheme = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(s);
  if (withScheme) {
    const authority = withScheme[2]!.replace(/^.*@/, '');
    host = authority.replace(/:\d*$/, '');
    path = withScheme[3] ?? '';
  } else {
    const scp = /^(?:[^@/:]+@)?([^:/]+):(?!\/)(.+)$/.exec(s);
    if (scp) {
      host = scp[1]!;
      path = scp[2]!;
    } else {
      const bare = /^([a-z0-9-]+(?:\.[a-z0-9-]+)+)(\/.+)$/i.exec(s);
      if (!bare) return null;
      host = bare[1]!;
      path = bare[2]!;
    }
  }
  path = path
    .replace(/\/+/g, '/')
    .replace(/^\/|\/$/g, '')
    .replace(/\.git$/i, '')
    .replace(/\/$/, '');
  if (host === '' || path === '' || !/^[a-z0-9.-]+$/i.test(host)) return null;
  return `${host}/${path}`.toLowerCase();
}
