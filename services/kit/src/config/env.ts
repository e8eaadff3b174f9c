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
    const shown = value === undefined ? "not set" : `got ${JSON.stringify(shownValue(name, value))}`;
    return `  ${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

// Variables whose whole value is secret; URLs elsewhere lose only their password.
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|HEADERS|_KEY$)/;

/** A variable's value as an error message may show it: secrets never. */
function shownValue(name: string, value: string): string {
  if (SECRET_NAME.test(name)) return "[redacted]";
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i, (_, scheme: string, userinfo: string) => {
    const user = userinfo.split(":")[0] ?? "";
    return `${scheme}${user}${userinfo.includes(":") ? ":[redacted]" : ""}@`;
  });
}

/** A TCP port from an env string: 0 (any free port) to 65535. */
export const portSchema = z.coerce.number().int().min(0).max(65535);

const HOST_PORT = /^[^\s:/,]+:\d{1,5}$/;
const IPV4_PORT = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/;
const TARGET_URI = /^(dns|ipv4|ipv6|unix|unix-abstract):\S+$/;

/**
 * Where to reach another service, as a grpc-js target: "host:port"; several replicas as
 * "ip:port,ip:port" (turned into grpc-js' "ipv4:" list, so calls spread round-robin over
 * them); or a grpc-js target URI such as "dns:///inference:50055" (every address the name
 * resolves to, as behind a Kubernetes headless Service).
 */
export const addressSchema = z
  .string()
  .refine(
    (value) =>
      HOST_PORT.test(value) ||
      TARGET_URI.test(value) ||
      (value.includes(",") && value.split(",").every((part) => IPV4_PORT.test(part.trim()))),
    "expected host:port (e.g. 127.0.0.1:50051), ip:port,ip:port for replicas, or a grpc-js target such as dns:///name:port",
  )
  .transform((value) =>
    value.includes(",") && !TARGET_URI.test(value)
      ? `ipv4:${value
          .split(",")
          .map((part) => part.trim())
          .join(",")}`
      : value,
  );

/** A byte count from an env string, at least 1 KiB. */
export const byteSizeSchema = z.coerce.number().int().min(1024);

/** A host to bind to; defaults to loopback so nothing is exposed by accident. */
export const hostSchema = z.string().min(1).default("127.0.0.1");

/** Log level names pino knows. */
export const logLevelSchema = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .default("info");
