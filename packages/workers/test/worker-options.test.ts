import t from 'tap';
import { compileWorkerOptions } from '../src/worker-options.js';

t.test('GitHub commit status options come from the environment', async (t) => {
  t.same(compileWorkerOptions({ kind: 'control' }, {}).github, {
    token: null,
    apiUrl: 'https://api.github.com',
    publicUrl: null,
  });
  const env = {
    DISTCI_GITHUB_TOKEN: ' ghp_x ',
    DISTCI_GITHUB_API_URL: 'https://ghe.example/api/v3/',
    DISTCI_PUBLIC_URL: 'https://ci.example//',
  };
  t.same(compileWorkerOptions({ kind: 'control' }, env).github, {
    token: 'ghp_x',
    apiUrl: 'https://ghe.example/api/v3',
    publicUrl: 'https://ci.example',
  });
  for (const bad of [{ DISTCI_GITHUB_API_URL: 'not a url' }, { DISTCI_PUBLIC_URL: 'ftp://ci.example' }]) {
    t.throws(() => compileWorkerOptions({ kind: 'control' }, bad), { code: 'DISTCI_BAD_OPTION' }, JSON.stringify(bad));
  }
});
