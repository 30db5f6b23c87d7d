import t from 'tap';
import { normaliseRepositoryUrl } from '../../src/github/repository-url.js';

t.test('every spelling of a repository URL has one form', async (t) => {
  for (const url of [
    'https://github.com/Octo-Org/Hello-World',
    'https://github.com/Octo-Org/Hello-World.git',
    'https://github.com/octo-org/hello-world/',
    'http://GitHub.COM/octo-org/hello-world.git/',
    'https://user:token@github.com/octo-org/hello-world.git',
    'https://github.com:443/octo-org/hello-world',
    'ssh://git@github.com/Octo-Org/Hello-World.git',
    'ssh://git@github.com:22/octo-org/hello-world.git',
    'git+ssh://git@github.com/octo-org/hello-world',
    'git://github.com/Octo-Org/Hello-World.git',
    'git@github.com:Octo-Org/Hello-World.git',
    'git@GITHUB.com:octo-org/hello-world',
    'github.com:octo-org/hello-world.git',
    'github.com/Octo-Org/Hello-World',
    '  https://github.com//octo-org//hello-world.git  ',
  ]) {
    t.equal(normaliseRepositoryUrl(url), 'github.com/octo-org/hello-world', url);
  }
  t.equal(normaliseRepositoryUrl('https://ghe.example.com/team/sub/repo.git'), 'ghe.example.com/team/sub/repo');
  t.not(normaliseRepositoryUrl('https://github.com/octo-org/hello-world-2'), 'github.com/octo-org/hello-world');
  t.not(normaliseRepositoryUrl('https://gitlab.com/octo-org/hello-world'), 'github.com/octo-org/hello-world');
  for (const url of [
    '',
    'file:///srv/repo.git',
    '/srv/repo',
    'https://github.com',
    'https://github.com/',
    'not a url',
  ]) {
    t.equal(normaliseRepositoryUrl(url), null, JSON.stringify(url));
  }
});
