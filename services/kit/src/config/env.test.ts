import { describe, expect, it } from "vitest";
import { z } from "zod";
import { addressSchema, ConfigError, parseEnv } from "./env.js";

describe("addressSchema", () => {
  it("takes host:port and grpc-js target URIs as they are", () => {
    expect(addressSchema.parse("127.0.0.1:50051")).toBe("127.0.0.1:50051");
    expect(addressSchema.parse("registry:50051")).toBe("registry:50051");
    expect(addressSchema.parse("dns:///inference.seam.svc:50055")).toBe("dns:///inference.seam.svc:50055");
    expect(addressSchema.parse("ipv4:10.0.0.1:1,10.0.0.2:1")).toBe("ipv4:10.0.0.1:1,10.0.0.2:1");
  });

  it("turns a list of replicas into one round-robin target", () => {
    expect(addressSchema.parse("127.0.0.1:7001, 127.0.0.1:7002")).toBe("ipv4:127.0.0.1:7001,127.0.0.1:7002");
  });

  it("refuses what grpc-js could not dial, saying what it expects", () => {
    for (const bad of ["registry", "http://registry:50051", "a:1,b:2", "127.0.0.1:1,"]) {
      const result = addressSchema.safeParse(bad);
      expect(result.success, bad).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/expected host:port/);
    }
  });
});

describe("parseEnv", () => {
  it("names every bad variable without showing a secret", () => {
    const schema = z.object({
      REDIS_URL: z.url({ protocol: /^rediss?$/ }),
      API_TOKEN: z.string().min(40),
      PORT: z.coerce.number().int(),
    });
    let message = "";
    try {
      parseEnv(schema, { REDIS_URL: "http://admin:hunter2@cache:6379", API_TOKEN: "s3cr3t", PORT: "x" });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/REDIS_URL: .*\(got "http:\/\/admin:\[redacted\]@cache:6379"\)/);
    expect(message).toMatch(/API_TOKEN: .*\(got "\[redacted\]"\)/);
    expect(message).toMatch(/PORT: .*\(got "x"\)/);
    expect(message).not.toMatch(/hunter2|s3cr3t/);
  });
});
