/**
 * A local stack in its own process, for tests that kill the process holding it. Prints one JSON line
 * (`stackDir` and the PostgreSQL data directories) once the stack runs, then waits to be killed.
 * Usage: node --import tsx test/helpers/stackProcess.ts
 */
import path from 'node:path';
import { startLocalStack } from '../../local/stack.js';

const stack = await startLocalStack();
process.stdout.write(
  `${JSON.stringify({
    stackDir: path.dirname(stack.descriptorPath),
    dataDirs: [stack.postgres.primary.dataDir, stack.postgres.replica.dataDir],
  })}\n`,
);
// Held until the parent kills this process.
setInterval(() => {}, 60_000);
