/** The `distci` binary's entry point (`bin/distci.js` loads it through tsx). */
import { runMain } from './run-main.js';

await runMain(process.argv);
