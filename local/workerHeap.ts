import { readFileSync } from 'node:fs';

const TEMPLATE = new URL('../infra/function-app.json', import.meta.url);
const SETTING = 'languageWorkers__node__arguments';
/** The one shape of the setting this reads: half (or another fraction) of the instance memory. */
const EXPRESSION =
  /^\[format\('--max-old-space-size=\{0\}', div\(parameters\('instanceMemoryMB'\), (\d+)\)\)\]$/;

/** The worker's V8 old-space cap as the function app template deploys it. */
export interface DeployedWorkerHeap {
  /** The template's default `instanceMemoryMB`. */
  instanceMemoryMB: number;
  /** `--max-old-space-size` of the Node.js worker at that instance memory, in MiB. */
  maxOldSpaceMiB: number;
}

type Json = { [key: string]: unknown };

/**
 * Reads `languageWorkers__node__arguments` and the default `instanceMemoryMB` from
 * `infra/function-app.json`, so that the benchmark's copy children run with the heap the deployed
 * worker has. Throws, naming what is missing, if the template no longer sets it in that shape.
 */
export function deployedWorkerHeap(
  template: unknown = JSON.parse(readFileSync(TEMPLATE, 'utf8')),
): DeployedWorkerHeap {
  const where = 'infra/function-app.json';
  const root = template as Json;
  const instanceMemoryMB = ((root.parameters as Json | undefined)?.instanceMemoryMB as Json | undefined)
    ?.defaultValue;
  if (typeof instanceMemoryMB !== 'number') {
    throw new Error(
      `${where} has no numeric default for the parameter instanceMemoryMB, so the heap of the deployed worker is unknown.`,
    );
  }
  const resources = Array.isArray(root.resources) ? (root.resources as Json[]) : [];
  const site = resources.find((resource) => resource.type === 'Microsoft.Web/sites');
  const settings = ((site?.properties as Json | undefined)?.siteConfig as Json | undefined)?.appSettings;
  const setting = (Array.isArray(settings) ? (settings as Json[]) : []).find((s) => s.name === SETTING);
  if (!setting) throw new Error(`${where} sets no app setting ${SETTING} on its Microsoft.Web/sites.`);
  const divisor = EXPRESSION.exec(String(setting.value))?.[1];
  if (!divisor || Number(divisor) === 0) {
    throw new Error(
      `${where} sets ${SETTING} to ${JSON.stringify(setting.value)}; the benchmark reads only "[format('--max-old-space-size={0}', div(parameters('instanceMemoryMB'), N))]"; update local/workerHeap.ts to the new shape.`,
    );
  }
  return { instanceMemoryMB, maxOldSpaceMiB: Math.floor(instanceMemoryMB / Number(divisor)) };
}
