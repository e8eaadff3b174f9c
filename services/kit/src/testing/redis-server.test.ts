import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { startRedisServer } from "./redis-server.js";

describe("startRedisServer", () => {
  it("starts a private server that answers, without persistence, and stops it", async () => {
    const server = await startRedisServer();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(6379);
    const redis = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on("error", () => {});
    expect(await redis.ping()).toBe("PONG");
    expect(await redis.config("GET", "save")).toEqual(["save", ""]);
    expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
    await server.stop();
    await server.stop();
    await expect(redis.ping()).rejects.toThrow();
    redis.disconnect();
  });

  it("runs independent servers side by side", async () => {
    const [a, b] = await Promise.all([startRedisServer(), startRedisServer()]);
    expect(a.port).not.toBe(b.port);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("says how to install redis-server when the binary is missing", async () => {
    await expect(startRedisServer({ binary: "/nonexistent/redis-server" })).rejects.toThrow(
      /apt-get install -y redis-server/,
    );
  });
});
