import { InvalidArgumentError } from 'commander';
import { RUN_ID_PATTERN } from '../lib/failover/FailoverRun.js';
import { EXIT, type ExitCode } from './exitCodes.js';
import type { CliIo } from './io.js';

/** One invocation of the CLI: where it writes, and the exit code its command decided. */
export interface CliRun {
  io: CliIo;
  exitCode: ExitCode;
}

export function newCliRun(io: CliIo): CliRun {
  return { io, exitCode: EXIT.ok };
}

/** Commander parser for a whole number ≥ `min`; a bad value is a usage error naming the option. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}.`);
    }
    return n;
  };
}

/** Commander parser for a number ≥ `min` (decimals allowed). */
export function atLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new InvalidArgumentError(`expected a number of at least ${min}.`);
    }
    return n;
  };
}

/** Commander parser for a failover run id. */
export function runIdArgument(value: string): string {
  if (!RUN_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError('expected a failover run id such as fo-20261123T201500Z-3f9a1c.');
  }
  return value;
}

/** Prints JSON on stdout, one document, indented. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
