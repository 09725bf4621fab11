/**
 * This machine's name, for the lock file that tells who uses a cache file,
 * found with the permissions the release binary has (`--allow-read` and
 * `--allow-env`, not `--allow-sys`) and without ever prompting for more.
 *
 * @module
 */

/** Where Linux and most Unix systems keep the host name. */
const HOSTNAME_FILE = "/etc/hostname";

/** Environment variables that hold the host name on some systems (Windows, some shells). */
const HOSTNAME_VARIABLES = ["HOSTNAME", "COMPUTERNAME"] as const;

/** The longest host name taken (DNS names are at most 253 characters). */
const MAX_HOST_NAME_CHARS = 253;

/** Whether `descriptor` is granted already (a query never prompts). */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/** The first line of the host name file, or "" when it cannot be read. */
function hostNameFromFile(): string {
  if (!granted({ name: "read", path: HOSTNAME_FILE })) return "";
  try {
    return Deno.readTextFileSync(HOSTNAME_FILE).split("\n")[0]?.trim() ?? "";
  } catch (error) {
    if (error instanceof Error) return "";
    throw error;
  }
}

/**
 * This machine's name: from the system when `--allow-sys=hostname` is
 * granted, else from `/etc/hostname`, else from `HOSTNAME` or
 * `COMPUTERNAME`; "" when none of these is available.
 */
export function localHostName(): string {
  let name = granted({ name: "sys", kind: "hostname" }) ? Deno.hostname() : hostNameFromFile();
  for (const variable of HOSTNAME_VARIABLES) {
    if (name !== "") break;
    if (granted({ name: "env", variable })) name = Deno.env.get(variable) ?? "";
  }
  return name.slice(0, MAX_HOST_NAME_CHARS);
}
