#!/usr/bin/env node
// The knowhere-rs command. The package ships TypeScript (ts/), so this
// launcher registers tsx's ESM loader in this same process (no child
// process: signals such as Ctrl-C reach the command directly) and runs
// ts/cli/main.ts. tsx is found from this file's package, so it works from
// `npm start`, `npx knowhere-rs` and `node bin/knowhere-rs.mjs` in any
// directory of a clone where `npm install` has run.
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch (error) {
  process.stderr.write(`knowhere-rs: cannot load tsx (run \`npm install\` in the package): ${error.message}\n`);
  process.exit(1);
}
register();

let main;
try {
  ({ main } = await import('../ts/cli/main.ts'));
} catch (error) {
  // Typically the native library is not built: its message says what to do.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message.startsWith('knowhere-rs:') ? '' : 'knowhere-rs: '}${message}\n`);
  process.exit(1);
}
const status = await main(process.argv.slice(2));
process.exit(status);
