/** Small helpers for the CLI's argument parsing (node:util parseArgs does the rest). */

/** Thrown for a wrong command line; main prints the message and usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Thrown for input the command cannot use although the command line is right (a file that
 * does not parse); main prints the message without the usage, exit code 1.
 */
export class InputError extends Error {
  override readonly name = "InputError";
}

/** Parses repeated `key=value` options into a map; values may contain "=". */
export function parseKeyValues(
  values: readonly string[] | undefined,
  option: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${option} takes key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Parses repeated `key=number` options (metrics). */
export function parseKeyNumbers(
  values: readonly string[] | undefined,
  option: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, raw] of Object.entries(parseKeyValues(values, option))) {
    const value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value)) {
      throw new UsageError(`--${option} ${key}=${raw}: the value must be a number`);
    }
    out[key] = value;
  }
  return out;
}

/** Parses a positive integer argument (a version number). */
export function parsePositiveInt(raw: string | undefined, what: string): bigint {
  if (raw === undefined || !/^[1-9][0-9]*$/.test(raw))
    throw new UsageError(`${what} must be a positive whole number`);
  return BigInt(raw);
}
