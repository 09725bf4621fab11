/**
 * Following a path's symbolic links to the file they name, so that a
 * symlinked cache file is written through to its target (the link stays a
 * link) instead of being replaced by a regular file.
 *
 * @module
 */

/** The most links followed before giving up: a loop, as the kernel's ELOOP limit says. */
const MAX_LINKS = 40;

/** Whether `path` is absolute on this system. */
function isAbsolute(path: string): boolean {
  return Deno.build.os === "windows" ? /^(?:[A-Za-z]:)?[\\/]/.test(path) : path.startsWith("/");
}

/** The directory part of `path` with its trailing separator, or "" for a bare name. */
export function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  const cut = Deno.build.os === "windows" ? Math.max(slash, path.lastIndexOf("\\")) : slash;
  return path.slice(0, cut + 1);
}

/**
 * The file `path` names once the symbolic links at its end are followed:
 * `path` itself when it is not a link or does not exist; the last link's
 * target (which may not exist yet: a dangling link is written through
 * too) otherwise. Relative targets are taken from the link's directory.
 * Links in the directories above are left to the system.
 *
 * @throws {Deno.errors.FilesystemLoop} after 40 links (a loop).
 * @throws the I/O error of reading a link (e.g. `PermissionDenied`).
 */
export async function linkTarget(path: string): Promise<string> {
  let current = path;
  for (let followed = 0; followed <= MAX_LINKS; followed++) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(current);
    } catch (error) {
      // Nothing there (or a file where a directory should be): writing it will say what is wrong.
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return current;
      }
      throw error;
    }
    if (!info.isSymlink) return current;
    const target = await Deno.readLink(current);
    current = isAbsolute(target) ? target : directoryOf(current) + target;
  }
  throw new Deno.errors.FilesystemLoop(`more than ${MAX_LINKS} symbolic links from ${path}`);
}
