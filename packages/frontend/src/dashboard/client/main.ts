/// <reference lib="dom" />
/** The dashboard's one client module: components, live refresh, enhancement of the server-rendered page. */
import './ci-log.js';
import './ci-token.js';
import { enhance } from './enhance.js';
import { connect } from './live-page.js';

function start(): void {
  const main = document.getElementById('main');
  if (!main) return;
  document.documentElement.classList.add('js');
  enhance(document);
  connect(main);
  // Relative times tick; 30 s is finer than their coarsest unit shown for recent events (minutes).
  setInterval(() => enhance(document), 30_000);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
