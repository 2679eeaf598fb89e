import { execFile, execSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

/** Every file under `dir`, relative to it, with `/` separators, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/** The `.ts` sources of src/ as the `.js` files a build of them emits. */
const emittedFromSrc = () =>
  filesUnder(path.join(ROOT, 'src'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.ts$/, '.js'));

/** The files `main` (a glob with `*` in its last segment, relative to the package) names under `root`. */
function mainFiles(root: string): string[] {
  const relative = pkg.main.replace(/^dist\//, '');
  const dir = path.join(root, path.dirname(relative));
  const literal = (part: string) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const name = new RegExp(`^${path.basename(relative).split('*').map(literal).join('[^/]*')}$`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => name.test(f)) : [];
}

// src/ builds alone: the drill's orchestration lives in local/drill/, loaded by
// src/cli/commands/drill.ts through a specifier tsc does not follow.
describe('npm run build', () => {
  let outDir: string;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'kyvos-dr-build-'));
    // The build's compile step, into a directory of its own instead of dist/.
    await promisify(execFile)(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        path.join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        outDir,
      ],
      { cwd: ROOT },
    );
  });
  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('compiles src/ alone: one .js per source file, laid out as in src/, nothing from local/, test/ or bench/', () => {
    const emitted = filesUnder(outDir).filter((f) => f.endsWith('.js'));
    expect(emitted).toEqual(emittedFromSrc());
  });

  it('package.json "main" names exactly the functions of src/functions, and the built CLI is where bin/kyvos-dr.js looks', () => {
    const functions = readdirSync(path.join(ROOT, 'src/functions'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, '.js'))
      .sort();
    expect(mainFiles(outDir).sort()).toEqual(functions);
    expect(functions.length).toBeGreaterThan(0);
    const bin = readFileSync(path.join(ROOT, 'bin/kyvos-dr.js'), 'utf8');
    const built = /new URL\('\.\.\/dist\/([^']+)'/.exec(bin)?.[1];
    expect(built && existsSync(path.join(outDir, built)), `dist/${built} is built`).toBe(true);
  });
});

describe('npm run build empties dist/ first', () => {
  it('so the host never loads the old .js of a trigger whose source is gone', () => {
    const project = mkdtempSync(path.join(tmpdir(), 'kyvos-dr-clean-'));
    try {
      mkdirSync(path.join(project, 'dist/functions'), { recursive: true });
      writeFileSync(
        path.join(project, 'dist/functions/removedTrigger.js'),
        'app.http("removedTrigger", {});',
      );
      // The build script's steps before its compile, run in a project that has a stale build.
      const [clean, compile] = pkg.scripts.build?.split(' && ') ?? [];
      expect(compile).toMatch(/^tsc -p tsconfig\.build\.json$/);
      execSync(clean ?? '', { cwd: project, stdio: 'pipe' });
      expect(existsSync(path.join(project, 'dist'))).toBe(false);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
