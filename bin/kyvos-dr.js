#!/usr/bin/env node
/**
 * The `kyvos-dr` command. In a clone (the TypeScript sources and the dev dependencies are there) it
 * runs the sources through tsx, so that it works right after `npm install` and never runs a stale
 * build; in an install without them it runs the build (`npm run build` → dist/).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);

async function loadCli() {
  if (existsSync(fileURLToPath(sources))) {
    const tsx = await import('tsx/esm/api').catch(() => undefined);
    if (tsx) {
      tsx.register();
      return import(sources.href);
    }
  }
  if (existsSync(fileURLToPath(built))) return import(built.href);
  process.stderr.write(
    'kyvos-dr: neither the built CLI (dist/cli/main.js) nor tsx to run the sources is installed: run "npm install", or "npm run build".\n',
  );
  process.exit(1);
}

const cli = await loadCli();
await cli.runCli(process.argv.slice(2));
