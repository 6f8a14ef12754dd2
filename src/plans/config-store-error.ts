/** Redis did not do what a plans or overrides store asked (unreachable, timed out, refused). */
export class ConfigStoreError extends Error {
  constructor(cause: unknown) {
    super(`store error: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'ConfigStoreError';
  }
}

/** Runs a store call, reporting any failure as a ConfigStoreError. */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof ConfigStoreError ? err : new ConfigStoreError(err);
  }
}
