import { codeOf } from '../errors.js';
import { describeError } from '../redact.js';

/** The container calls a scratch container needs: those of `ContainerClient`, which satisfies this. */
export interface ScratchContainerClient {
  readonly containerName: string;
  create(options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  deleteIfExists(): Promise<unknown>;
}

/** What became of the scratch container. */
export interface ScratchCleanup {
  container: string;
  /** Deleted, or never created. */
  deleted: boolean;
  /** Why it could not be deleted (it is left behind: delete it by hand). */
  error?: string;
}

/**
 * Creates a container that did not exist, runs `work` in it, and deletes it whatever happens: when
 * `work` throws, when it is aborted, when it succeeds. A container of that name that exists already
 * is not the rehearsal's, and is neither used nor deleted (`work` does not run). The deletion runs
 * without the abort signal, so that an interrupted rehearsal still removes its container. Returns
 * the outcome of `work` and of the deletion; never throws.
 */
export async function withScratchContainer<T>(
  container: ScratchContainerClient,
  work: () => Promise<T>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<{ result: { ok: true; value: T } | { ok: false; error: unknown }; cleanup: ScratchCleanup }> {
  const name = container.containerName;
  try {
    await container.create(options.abortSignal ? { abortSignal: options.abortSignal } : {});
  } catch (error) {
    const reason =
      codeOf(error) === 'ContainerAlreadyExists'
        ? new Error(
            `The scratch container "${name}" exists already: it is not this rehearsal's, so it was neither used nor deleted.`,
          )
        : error;
    return { result: { ok: false, error: reason }, cleanup: { container: name, deleted: true } };
  }
  let result: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    result = { ok: true, value: await work() };
  } catch (error) {
    result = { ok: false, error };
  }
  try {
    await container.deleteIfExists();
    return { result, cleanup: { container: name, deleted: true } };
  } catch (error) {
    return { result, cleanup: { container: name, deleted: false, error: describeError(error) } };
  }
}
