/**
 * File-system helpers of the tests.
 *
 * @module
 */

/**
 * Runs `body` with a fresh temporary directory (its name starting with
 * `prefix`, if given), removed with its contents afterwards.
 */
export async function withTempDir<T>(
  body: (dir: string) => Promise<T>,
  prefix?: string,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
