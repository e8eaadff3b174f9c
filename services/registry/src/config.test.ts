import { parseEnv } from "@seam/kit/config";
import { describe, expect, it } from "vitest";
import { registryConfigSchema } from "./config.js";

describe("registryConfigSchema", () => {
  it("fills defaults for a laptop", () => {
    expect(parseEnv(registryConfigSchema, {})).toEqual({
      REGISTRY_HOST: "127.0.0.1",
      REGISTRY_PORT: 50051,
      SEAM_DATA_DIR: "./.seam",
      REGISTRY_MAX_ARTIFACT_BYTES: 512 * 1024 * 1024,
      LOG_LEVEL: "info",
    });
  });

  it("reads every variable and names the bad ones", () => {
    const config = parseEnv(registryConfigSchema, {
      REGISTRY_HOST: "0.0.0.0",
      REGISTRY_PORT: "6000",
      SEAM_DATA_DIR: "/data",
      REDIS_URL: "redis://redis:6379/0",
      REGISTRY_MAX_ARTIFACT_BYTES: "1048576",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      REGISTRY_PORT: 6000,
      REDIS_URL: "redis://redis:6379/0",
      REGISTRY_MAX_ARTIFACT_BYTES: 1048576,
    });
    expect(() => parseEnv(registryConfigSchema, { REGISTRY_PORT: "99999", REDIS_URL: "http://x" })).toThrow(
      /REGISTRY_PORT[\s\S]*REDIS_URL|REDIS_URL[\s\S]*REGISTRY_PORT/,
    );
  });
});
