/**
 * Node paths of the embedded coordination store: validation exactly as ZooKeeper's client
 * (node-zookeeper-client) and server (`PathUtils.validatePath`) refuse them, and the chroot mapping.
 *
 * A client path is absolute and relative to the client's chroot (`/` is the chroot itself); a server
 * path is the absolute path in the one tree. Everything that crosses the client/server boundary goes
 * through `toServerPath` / `toClientPath`.
 */
import { distciError } from '@distci/common';

/**
 * Characters ZooKeeper's server refuses in a path (`PathUtils.validatePath`): controls, DEL and C1
 * controls, surrogates and the private use area (so no astral characters such as emoji), and the
 * specials block. `\u0000` is first: NUL ends a C string on the server.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const BAD_CHARACTER = /[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/;

function badPath(path: string, reason: string, details?: Record<string, unknown>): Error {
  return distciError('DISTCI_BAD_PATH', `node path '${path}' is not valid: ${reason}`, {
    hint: 'use an absolute path like /jobs/web, without a trailing "/", empty segments, "." or ".."',
    details: { path, ...details },
  });
}

/** Throws DISTCI_BAD_PATH unless `path` is a valid absolute node path; returns it. */
export function validateNodePath(path: string, details?: Record<string, unknown>): string {
  if (typeof path !== 'string' || path === '') throw badPath(String(path), 'it is empty', details);
  if (path[0] !== '/') throw badPath(path, 'it must start with "/"', details);
  if (path.length === 1) return path;
  // node-zookeeper-client refuses a trailing "/" even for sequential creates (the Java client allows
  // `/queue/` there); the ZooKeeper adapter sits on node-zookeeper-client, so we refuse it too.
  if (path.endsWith('/')) throw badPath(path, 'it ends with "/"', details);
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') throw badPath(path, 'it has an empty segment', details);
    if (segment === '.' || segment === '..') throw badPath(path, `it has a relative segment '${segment}'`, details);
  }
  if (BAD_CHARACTER.test(path)) throw badPath(path, 'it has a character ZooKeeper refuses', details);
  return path;
}

/** A chroot option as a server path prefix: '' for none (`undefined`, '' or '/'). */
export function normalizeChroot(chroot: string | undefined): string {
  if (chroot === undefined || chroot === '' || chroot === '/') return '';
  return validateNodePath(chroot);
}

export function toServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  return path === '/' ? chroot : chroot + path;
}

export function toClientPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  return path === chroot ? '/' : path.slice(chroot.length);
}

/** The parent of a server path other than `/`. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** The last segment of a server path other than `/`. */
export function nodeName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
