import { byteSizeSchema, hostSchema, parseEnv, portSchema } from "@seam/kit/config";
import { z } from "zod";

/** Largest request message the gateway reads by default: 4 MiB, gRPC's usual limit. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** The gateway's environment; nothing else in the gateway reads process.env. */
export const gatewayEnvSchema = z.object({
  SEAM_GATEWAY_HOST: hostSchema,
  SEAM_GATEWAY_PORT: portSchema.default(8080),
  SEAM_GATEWAY_MAX_REQUEST_BYTES: byteSizeSchema.default(DEFAULT_MAX_REQUEST_BYTES),
  /** Comma-separated browser origins allowed by CORS, or "*" for any. */
  SEAM_GATEWAY_CORS_ORIGINS: z
    .string()
    .default("*")
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ""),
    )
    .pipe(z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ })])).min(1)),
});

/** The gateway's validated configuration. */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly maxRequestBytes: number;
  readonly corsOrigins: readonly string[];
}

/** Reads and validates the gateway's configuration; throws ConfigError naming every bad variable. */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = parseEnv(gatewayEnvSchema, env);
  return {
    host: parsed.SEAM_GATEWAY_HOST,
    port: parsed.SEAM_GATEWAY_PORT,
    maxRequestBytes: parsed.SEAM_GATEWAY_MAX_REQUEST_BYTES,
    corsOrigins: parsed.SEAM_GATEWAY_CORS_ORIGINS,
  };
}
