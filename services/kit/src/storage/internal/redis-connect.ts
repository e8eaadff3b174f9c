import { Redis } from "ioredis";

/**
 * Opens an owned connection to `url` and waits until it is ready; rejects with
 * "cannot connect to Redis at <url, password redacted>" (cause attached) when it cannot.
 * Later connection errors reach callers through rejected commands while ioredis
 * reconnects by itself, so its 'error' events are swallowed rather than crashing the process.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true });
  redis.on("error", () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}`, { cause: err });
  }
  return redis;
}

/** Closes a connection from {@link connectRedis}: QUIT when possible, else drop it. */
export async function quitRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

// A Redis URL may carry a password; it must not end up in logs.
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
