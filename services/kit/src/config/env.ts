import { z } from "zod";

/** Thrown by {@link parseEnv} with one readable line per invalid variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Validates environment variables against a zod object schema. Fails fast with a
 * message naming every bad variable, so a process never starts half-configured.
 * This is the only place a process reads its configuration from.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const value = env[name];
    const shown = value === undefined ? "not set" : `got ${JSON.stringify(value)}`;
    return `  ${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

/** A TCP port from an env string: 0 (any free port) to 65535. */
export const portSchema = z.coerce.number().int().min(0).max(65535);

/** Where to reach another service: a grpc-js "host:port" target. */
export const addressSchema = z
  .string()
  .regex(/^[^\s:/]+:\d{1,5}$/, "expected host:port, e.g. 127.0.0.1:50051");

/** A byte count from an env string, at least 1 KiB. */
export const byteSizeSchema = z.coerce.number().int().min(1024);

/** A host to bind to; defaults to loopback so nothing is exposed by accident. */
export const hostSchema = z.string().min(1).default("127.0.0.1");

/** Log level names pino knows. */
export const logLevelSchema = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .default("info");
