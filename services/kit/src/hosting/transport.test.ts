import { createServer } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { EchoRequestSchema, EchoResponseSchema } from "@seam/proto/seam/testing/v1/echo_pb";
import { afterEach, describe, expect, it } from "vitest";
import { createGrpcServer, type GrpcServer } from "./server.js";
import { installShutdownHandlers } from "./shutdown.js";
import { createCapturingLogger, EchoService, echoImpl } from "./testdata/echo.js";
import { createGrpcTransport } from "./transport.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(
  impl: Partial<typeof echoImpl>,
  port = 0,
): Promise<{ server: GrpcServer; port: number }> {
  const { logger } = createCapturingLogger();
  const server = createGrpcServer({ logger }).register(EchoService, impl);
  const bound = await server.listen("127.0.0.1", port);
  cleanups.push(() => server.shutdown(1_000));
  return { server, port: bound };
}

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const fastRetry = { maxAttempts: 10, initialBackoffMs: 50, maxBackoffMs: 200 };
// Lets grpc-js reconnect quickly after a refused connection.
const fastReconnect = { "grpc.initial_reconnect_backoff_ms": 50, "grpc.max_reconnect_backoff_ms": 100 };

/**
 * A server whose `echo` answers UNAVAILABLE twice before succeeding and whose `echoNoRetry`
 * (a method with side effects) always does; `attempts` counts the calls each received.
 */
async function serveWarmingUp() {
  const attempts = { echo: 0, echoNoRetry: 0 };
  const { port } = await serve({
    echo(req) {
      attempts.echo++;
      if (attempts.echo < 3) throw new ConnectError("warming up", Code.Unavailable);
      return { text: req.text };
    },
    echoNoRetry() {
      attempts.echoNoRetry++;
      throw new ConnectError("warming up", Code.Unavailable);
    },
  });
  return { port, attempts };
}

describe("createGrpcTransport retries", () => {
  it("retries an idempotent unary call on UNAVAILABLE, but never a method with side effects", async () => {
    const { port, attempts } = await serveWarmingUp();
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: fastRetry });
    cleanups.push(() => transport.close());
    const client = createClient(EchoService, transport);

    expect((await client.echo({ text: "x" })).text).toBe("x");
    expect(attempts.echo).toBe(3);

    await expect(client.echoNoRetry({ text: "x" })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(attempts.echoNoRetry).toBe(1);
  });

  it("retries a forwarded (unaryBytes) call the same way: idempotent methods only", async () => {
    const { port, attempts } = await serveWarmingUp();
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: fastRetry });
    cleanups.push(() => transport.close());
    const request = toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "x" }));
    const options = { headers: [], deadline: Date.now() + 10_000 };

    const ok = await transport.unaryBytes(EchoService.method.echo, request, options);
    expect(ok.code).toBe(0);
    expect(fromBinary(EchoResponseSchema, ok.message as Buffer).text).toBe("x");
    expect(attempts.echo).toBe(3);

    const refused = await transport.unaryBytes(EchoService.method.echoNoRetry, request, options);
    expect(refused.code).toBe(Code.Unavailable);
    expect(attempts.echoNoRetry).toBe(1);
  });

  it("does not retry other codes", async () => {
    let attempts = 0;
    const { port } = await serve({
      echo() {
        attempts++;
        throw new ConnectError("no", Code.FailedPrecondition);
      },
    });
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: fastRetry });
    cleanups.push(() => transport.close());
    await expect(createClient(EchoService, transport).echo({ text: "x" })).rejects.toMatchObject({
      code: Code.FailedPrecondition,
    });
    expect(attempts).toBe(1);
  });

  it("reaches a server that comes up late on an idempotent method", async () => {
    const port = await freePort();
    const transport = createGrpcTransport({
      address: `127.0.0.1:${port}`,
      retry: fastRetry,
      channelOptions: fastReconnect,
    });
    cleanups.push(() => transport.close());
    const client = createClient(EchoService, transport);

    // Nothing listens yet: a method with side effects fails at once.
    await expect(client.echoNoRetry({ text: "x" })).rejects.toMatchObject({ code: Code.Unavailable });

    setTimeout(() => void serve(echoImpl, port), 250);
    const started = Date.now();
    expect((await client.echo({ text: "late" }, { timeoutMs: 5_000 })).text).toBe("late");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it("gives up within the caller's deadline", async () => {
    const port = await freePort();
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: fastRetry });
    cleanups.push(() => transport.close());
    const started = Date.now();
    const err = await createClient(EchoService, transport)
      .echo({ text: "x" }, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect([Code.Unavailable, Code.DeadlineExceeded]).toContain((err as ConnectError).code);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("createGrpcTransport deadlines", () => {
  it("gives unary calls the default timeout, but not server streams", async () => {
    const wait = () => new Promise((resolve) => setTimeout(resolve, 300));
    const { port } = await serve({
      async echo(req) {
        await wait();
        return { text: req.text };
      },
      async *echoServerStream(req) {
        await wait();
        yield { text: req.text, index: 0 };
      },
    });
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, defaultTimeoutMs: 100 });
    cleanups.push(() => transport.close());
    const client = createClient(EchoService, transport);
    await expect(client.echo({ text: "x" })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    const received: string[] = [];
    for await (const res of client.echoServerStream({ text: "s", repeat: 1 })) received.push(res.text);
    expect(received).toEqual(["s"]);
  });
});

describe("installShutdownHandlers", () => {
  it("drains the server on the signal, then exits 0", async () => {
    const { logger } = createCapturingLogger();
    const { server } = await serve(echoImpl);
    let exited: (code: number) => void = () => {};
    const exitCode = new Promise<number>((resolve) => (exited = resolve));
    const remove = installShutdownHandlers(server, logger, {
      signals: ["SIGUSR2"],
      graceMs: 500,
      exit: exited,
    });
    cleanups.push(remove);
    process.emit("SIGUSR2", "SIGUSR2");
    expect(await exitCode).toBe(0);
  });
});
