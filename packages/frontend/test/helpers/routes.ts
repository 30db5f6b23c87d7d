/**
 * Every write route of the API with a sample URL, so tests can throw requests at all of them. A test
 * (`plugins/auth.test.ts`) checks this list against the OpenAPI document: a new write route that is not
 * listed here fails it.
 */
export interface WriteRoute {
  method: 'POST' | 'PUT' | 'DELETE';
  /** The route as OpenAPI names it. */
  path: string;
  /** A concrete URL for it. */
  url: string;
  /** How the route authenticates. */
  auth: 'token' | 'signature';
}

export const WRITE_ROUTES: WriteRoute[] = [
  { method: 'POST', path: '/api/v1/jobs', url: '/api/v1/jobs', auth: 'token' },
  { method: 'PUT', path: '/api/v1/jobs/{job}', url: '/api/v1/jobs/web', auth: 'token' },
  { method: 'DELETE', path: '/api/v1/jobs/{job}', url: '/api/v1/jobs/web', auth: 'token' },
  { method: 'POST', path: '/api/v1/jobs/{job}/builds', url: '/api/v1/jobs/web/builds', auth: 'token' },
  {
    method: 'POST',
    path: '/api/v1/jobs/{job}/builds/{n}/cancel',
    url: '/api/v1/jobs/web/builds/1/cancel',
    auth: 'token',
  },
  {
    method: 'POST',
    path: '/api/v1/jobs/{job}/builds/{n}/retry',
    url: '/api/v1/jobs/web/builds/1/retry',
    auth: 'token',
  },
  {
    method: 'POST',
    path: '/api/v1/jobs/{job}/builds/{n}/steps/{step}/retry',
    url: '/api/v1/jobs/web/builds/1/steps/build/retry',
    auth: 'token',
  },
  { method: 'PUT', path: '/api/v1/secrets/{name}', url: '/api/v1/secrets/NPM_TOKEN', auth: 'token' },
  { method: 'DELETE', path: '/api/v1/secrets/{name}', url: '/api/v1/secrets/NPM_TOKEN', auth: 'token' },
  { method: 'POST', path: '/api/v1/tokens', url: '/api/v1/tokens', auth: 'token' },
  { method: 'DELETE', path: '/api/v1/tokens/{id}', url: '/api/v1/tokens/0123456789ab', auth: 'token' },
  { method: 'POST', path: '/api/v1/webhooks/github', url: '/api/v1/webhooks/github', auth: 'signature' },
];
