#!/usr/bin/env node
// Runs the compiled bridge in dist/ with plain node: no TypeScript loader at run time, so start-up
// is quick and small. `npm run build` writes dist/; `npm install` in a clone runs it (`prepare`).
const entry = new URL('../dist/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (error) {
  // Only a missing dist/ gets the hint; a module missing inside dist/ is a real error.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(entry.pathname)) throw error;
  process.stderr.write('sf-cm-bridge is not built: run `npm run build` (or `npm install`) in the repository\n');
  process.exit(1);
}
process.exit(await main(process.argv.slice(2)));
