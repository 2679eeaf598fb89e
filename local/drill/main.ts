/**
 * `npm run drill`: the README's first command, `kyvos-dr drill` as a script. Arguments after `--` are
 * the drill's options (`npm run drill -- --scenario region-outage`).
 */
import { isEntryPoint, runCli } from '../../src/cli/main.js';

if (isEntryPoint(import.meta.url)) await runCli(['drill', ...process.argv.slice(2)]);
