import { parseEnv } from "@seam/kit/config";
import { describe, expect, it } from "vitest";
import { datasetsConfigSchema } from "./config.js";
import { uploadTmpDir } from "./server.js";

describe("datasetsConfigSchema", () => {
  it("fills defaults for a laptop", () => {
    const config = parseEnv(datasetsConfigSchema, {});
    expect(config).toEqual({
      DATASETS_HOST: "127.0.0.1",
      DATASETS_PORT: 50052,
      SEAM_DATA_DIR: "./.seam",
      DATASETS_MAX_UPLOAD_BYTES: 2 * 1024 * 1024 * 1024,
      SEAM_REGISTRY_ADDRESS: "127.0.0.1:50051",
      LOG_LEVEL: "info",
    });
    expect(uploadTmpDir(config)).toBe(".seam/tmp/datasets");
  });

  it("reads every variable and names the bad ones", () => {
    const config = parseEnv(datasetsConfigSchema, {
      DATASETS_HOST: "0.0.0.0",
      DATASETS_PORT: "6001",
      SEAM_DATA_DIR: "/data",
      REDIS_URL: "rediss://redis:6380/1",
      DATASETS_MAX_UPLOAD_BYTES: "1048576",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      DATASETS_HOST: "0.0.0.0",
      DATASETS_PORT: 6001,
      REDIS_URL: "rediss://redis:6380/1",
      DATASETS_MAX_UPLOAD_BYTES: 1048576,
      LOG_LEVEL: "debug",
    });
    expect(uploadTmpDir(config)).toBe("/data/tmp/datasets");
    expect(() =>
      parseEnv(datasetsConfigSchema, { DATASETS_PORT: "-1", DATASETS_MAX_UPLOAD_BYTES: "12" }),
    ).toThrow(/DATASETS_PORT[\s\S]*DATASETS_MAX_UPLOAD_BYTES/);
  });
});
