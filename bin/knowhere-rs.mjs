#!/usr/bin/env node
// The knowhere-rs command: runs the compiled CLI (dist/cli/main.js) in this
// process, so signals such as Ctrl-C reach it directly.
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    process.stderr.write('knowhere-rs: dist/ is not built; in a clone, run `npm install` or `npm run build:ts`\n');
    process.exit(1);
  }
  // Typically the native library cannot be loaded: its message says what to do.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message.startsWith('knowhere-rs:') ? '' : 'knowhere-rs: '}${message}\n`);
  process.exit(1);
}
const status = await main(process.argv.slice(2));
process.exit(status);
