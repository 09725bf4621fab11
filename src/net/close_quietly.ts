/**
 * Closing a connection or listener that may already be closed.
 *
 * @module
 */

/**
 * Closes `resource`; one that is already closed (`BadResource`) is fine,
 * anything else is rethrown.
 */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch (error: unknown) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
