/**
 * Rewrites the option tables of docs/configuration.md from OPTION_TABLE (`npm run docs:config`): each
 * `<!-- options: SECTION -->` … `<!-- /options -->` block becomes that section's table. A test checks
 * the file is what this would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withOptionTables } from '@distci/common';

const file = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(file, withOptionTables(readFileSync(file, 'utf8')));
