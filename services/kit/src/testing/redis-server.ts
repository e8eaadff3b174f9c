import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A throwaway redis-server for tests. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Kills the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** The redis-server executable (default: `redis-server` on PATH, or `$REDIS_SERVER_BIN`). */
  readonly binary?: string;
  /** How long to wait for the first PONG (default 10 s). */
  readonly startTimeoutMs?: number;
}

/**
 * Starts a private `redis-server` on a free 127.0.0.1 port, without persistence, in
 * its own temporary directory, and resolves once it answers PING. Meant for vitest:
 * `beforeAll(async () => { redis = await startRedisServer(); })`, `afterAll(() => redis.stop())`.
 *
 * @throws Error saying how to install redis-server when the executable is missing.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? "redis-server";
  // The free port can be taken between probing and binding; then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, await freePort(), options.startTimeoutMs ?? 10_000);
    } catch (err) {
      if (!(err instanceof PortRaceError) || attempt >= 3) throw err;
    }
  }
}

class PortRaceError extends Error {}

async function startOnce(binary: string, port: number, timeoutMs: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "seam-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  args.push("--dir", dir, "--protected-mode", "yes", "--loglevel", "warning");
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  // redis-server logs to stdout; keep the tail of both streams to explain an early exit.
  let output = "";
  const keep = (text: string): void => {
    output = (output + text).slice(-4000);
  };
  child.stdout?.setEncoding("utf8").on("data", keep);
  child.stderr?.setEncoding("utf8").on("data", keep);
  const exited = new Promise<Error>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === "ENOENT"
          ? new Error(
              `redis-server not found (${binary}): install it (apt-get install -y redis-server) ` +
                "or point REDIS_SERVER_BIN at it",
            )
          : err,
      );
    });
    child.once("exit", (code, signal) => {
      const message = `redis-server exited early (code ${code}, signal ${signal}): ${output.trim()}`;
      resolve(/address already in use/i.test(output) ? new PortRaceError(message) : new Error(message));
    });
  });
  const stop = once(async () => {
    await kill(child);
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await Promise.race([waitForPong(port, timeoutMs), exited.then((err) => Promise.reject(err))]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

/** Finds a port nobody listens on by letting the OS pick one for a moment. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not find a free port");
  return address.port;
}

async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/** One raw RESP PING; true when the answer is +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      reply += data.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(timer);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => {
    promise ??= fn();
    return promise;
  };
}
