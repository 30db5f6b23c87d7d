/**
 * A build's artifact manifest (`builds/<job>/<n>/artifacts.json`): written by the publish-artifacts
 * kind (merged by compare-and-set), read by copy-artifacts and the frontend.
 */

export interface ArtifactEntry {
  /** Relative to the build's artifacts (`dist/app.js`), valid for `relativePath`. */
  path: string;
  size: number;
  sha256: string;
  contentType: string;
  /** The step that published it. */
  step: string;
}

export interface ArtifactManifest {
  v: 1;
  job: string;
  build: number;
  /** Sorted by path. */
  artifacts: ArtifactEntry[];
}
