/**
 * Told, after the change is committed, which adapters were added, changed or deleted (a scan, a PATCH, an import,
 * CivitAI). Capabilities that keep derived data per adapter (recommendation features) listen; the writers do not
 * know who listens. A listener's failure never fails the write: the caller's wrapper logs it.
 */
export type AdaptersChanged = (ids: readonly string[]) => Promise<void>;

export const ignoreAdapterChanges: AdaptersChanged = async () => undefined;
