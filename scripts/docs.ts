// Regenerates docs/config.md from the config schema (`npm run docs`).
import { writeFileSync } from 'node:fs';
import { renderConfigReference } from '../src/config/reference.ts';

writeFileSync(new URL('../docs/config.md', import.meta.url), renderConfigReference());
console.log('wrote docs/config.md');
