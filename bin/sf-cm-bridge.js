#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: a clone works right after `npm install`,
// with no build step and no stale compiled output.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
