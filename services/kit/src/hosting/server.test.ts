import { connect as connectHttp2, createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { EchoRequestSchema, EchoResponseSchema } from "@seam/proto/seam/testing/v1/echo_pb";
import { afterEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../errors/index.js";
import { createGrpcServer, DEFAULT_FLOW_CONTROL_WINDOW_BYTES, type GrpcServer } from "./server.js";
import { aborted, createCapturingLogger, EchoService, echoImpl } from "./testdata/echo.js";
import { createGrpcTransport, type GrpcTransport } from "./transport.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  impl: Partial<typeof echoImpl>,
  options: { maxReceiveMessageBytes?: number } = {},
): Promise<{
  server: GrpcServer;
  address: string;
  transport: GrpcTransport;
  lines: ReturnType<typeof createCapturingLogger>["lines"];
}> {
  const { logger, lines } = createCapturingLogger();
  const server = createGrpcServer({ logger, ...options }).register(EchoService, impl);
  const port = await server.listen("127.0.0.1", 0);
  const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: false });
  cleanups.push(() => server.shutdown(1_000));
  cleanups.push(() => transport.close());
  return { server, address: `127.0.0.1:${port}`, transport, lines };
}

async function codeOf(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected the call to fail");
}

describe("createGrpcServer + createGrpcTransport", () => {
  it("round-trips every method kind with headers and trailers", async () => {
    const { transport } = await start(echoImpl);
    const client = createClient(EchoService, transport);

    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const unary = await client.echo(
      { text: "hi" },
      { headers: { "x-echo": "yes" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
    );
    expect(unary.text).toBe("hi");
    expect(header?.get("x-echo")).toBe("yes");
    expect(trailer?.get("x-echo-trailer")).toBe("yes");

    const streamed: number[] = [];
    let streamTrailer: Headers | undefined;
    let streamHeader: Headers | undefined;
    for await (const res of client.echoServerStream(
      { text: "s", repeat: 3 },
      { onHeader: (h) => (streamHeader = h), onTrailer: (t) => (streamTrailer = t) },
    )) {
      streamed.push(res.index);
    }
    expect(streamed).toEqual([0, 1, 2]);
    expect(streamHeader?.get("x-kind")).toBe("server-stream");
    expect(streamTrailer?.get("x-count")).toBe("3");

    async function* parts() {
      yield { text: "a" };
      yield { text: "b" };
      yield { text: "c" };
    }
    const joined = await client.echoClientStream(parts());
    expect(joined).toMatchObject({ text: "a b c", count: 3 });

    const echoed: string[] = [];
    for await (const res of client.echoBidi(parts())) echoed.push(res.text);
    expect(echoed).toEqual(["a", "b", "c"]);
  });

  it("answers UNIMPLEMENTED for methods the implementation leaves out", async () => {
    const { transport } = await start({ echo: echoImpl.echo });
    const client = createClient(EchoService, transport);
    expect((await codeOf(client.echoNoRetry({ text: "x" }))).code).toBe(Code.Unimplemented);
    const err = await codeOf(
      (async () => {
        for await (const _ of client.echoServerStream({ text: "x", repeat: 1 })) {
          // drain
        }
      })(),
    );
    expect(err.code).toBe(Code.Unimplemented);
  });

  it("maps a domain error to its code and message, with metadata", async () => {
    const { transport, lines } = await start({
      echo() {
        throw new NotFoundError('model "m" not found');
      },
      echoNoRetry() {
        throw new ConnectError("slow down", Code.ResourceExhausted, { "retry-after": "3" });
      },
      async *echoServerStream() {
        yield { text: "one", index: 0 };
        throw new NotFoundError("gone mid-stream");
      },
    });
    const client = createClient(EchoService, transport);
    const notFound = await codeOf(client.echo({ text: "x" }));
    expect(notFound.code).toBe(Code.NotFound);
    expect(notFound.rawMessage).toBe('model "m" not found');

    const exhausted = await codeOf(client.echoNoRetry({ text: "x" }));
    expect(exhausted.code).toBe(Code.ResourceExhausted);
    expect(exhausted.metadata.get("retry-after")).toBe("3");

    const received: string[] = [];
    const midStream = await codeOf(
      (async () => {
        for await (const res of client.echoServerStream({ text: "x", repeat: 1 })) received.push(res.text);
      })(),
    );
    expect(received).toEqual(["one"]);
    expect(midStream.code).toBe(Code.NotFound);
    expect(midStream.rawMessage).toBe("gone mid-stream");
    expect(lines().filter((line) => line.level === 50)).toEqual([]);
  });

  it("hides an unexpected error behind INTERNAL and logs its cause", async () => {
    const { transport, lines } = await start({
      echo() {
        throw new Error("db password is hunter2");
      },
    });
    const err = await codeOf(createClient(EchoService, transport).echo({ text: "x" }));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error");
    expect(err.rawMessage).not.toContain("hunter2");
    const errorLines = lines().filter((line) => line.level === 50);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({ rpc: "seam.testing.v1.EchoService/Echo" });
    expect(JSON.stringify(errorLines[0])).toContain("hunter2");
  });

  it("passes the client deadline to the handler and reports DEADLINE_EXCEEDED", async () => {
    let remaining: number | undefined;
    let handlerSaw: Promise<unknown> = Promise.resolve();
    const { transport, lines } = await start({
      async echo(_req, ctx: HandlerContext) {
        remaining = ctx.timeoutMs();
        handlerSaw = aborted(ctx.signal);
        await handlerSaw;
        throw new Error("aborted by the deadline");
      },
    });
    const err = await codeOf(createClient(EchoService, transport).echo({ text: "x" }, { timeoutMs: 300 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(300);
    const reason = await handlerSaw;
    expect(reason).toBeInstanceOf(ConnectError);
    expect((reason as ConnectError).code).toBe(Code.DeadlineExceeded);
    // An expired call is an outcome, not a fault: nothing at error level.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines().filter((line) => line.level === 50)).toEqual([]);
  });

  it("aborts ctx.signal when the client cancels", async () => {
    let started: () => void = () => {};
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    let handlerAborted: Promise<unknown> = Promise.resolve();
    const { transport, lines } = await start({
      async *echoServerStream(_req, ctx) {
        handlerAborted = aborted(ctx.signal);
        started();
        await handlerAborted;
        if (ctx.signal.aborted) throw new Error("stopped");
        yield { text: "unreachable", index: 0 };
      },
    });
    const controller = new AbortController();
    const call = (async () => {
      for await (const _ of createClient(EchoService, transport).echoServerStream(
        { text: "x", repeat: 1 },
        { signal: controller.signal },
      )) {
        // never yields
      }
    })();
    await handlerStarted;
    controller.abort();
    expect((await codeOf(call)).code).toBe(Code.Canceled);
    const reason = await handlerAborted;
    expect((reason as ConnectError).code).toBe(Code.Canceled);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines().filter((line) => line.level === 50)).toEqual([]);
  });

  it("refuses a message over the receive limit with RESOURCE_EXHAUSTED", async () => {
    const { transport } = await start(echoImpl, { maxReceiveMessageBytes: 1024 });
    const client = createClient(EchoService, transport);
    expect((await client.echo({ text: "small", payload: new Uint8Array(100) })).text).toBe("small");
    const err = await codeOf(client.echo({ text: "big", payload: new Uint8Array(4096) }));
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  it("refuses a response over the client's receive limit with RESOURCE_EXHAUSTED", async () => {
    const { logger } = createCapturingLogger();
    const server = createGrpcServer({ logger }).register(EchoService, echoImpl);
    const port = await server.listen("127.0.0.1", 0);
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, maxReceiveMessageBytes: 1024 });
    cleanups.push(
      () => server.shutdown(1_000),
      () => transport.close(),
    );
    const err = await codeOf(
      createClient(EchoService, transport).echo({ text: "x", payload: new Uint8Array(4096) }),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
  });
});

describe("HTTP/2 flow control", () => {
  /** The settings and connection window a raw HTTP/2 client is given by a kit server. */
  async function windowsOffered(options: { flowControlWindowBytes?: number }) {
    const { logger } = createCapturingLogger();
    const server = createGrpcServer({ logger, ...options }).register(EchoService, echoImpl);
    const port = await server.listen("127.0.0.1", 0);
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    cleanups.push(
      () => server.shutdown(1_000),
      () => void session.destroy(),
    );
    // The server's first SETTINGS frame carries HTTP/2's defaults; the window follows it.
    const expected = options.flowControlWindowBytes ?? DEFAULT_FLOW_CONTROL_WINDOW_BYTES;
    const started = Date.now();
    while (
      (session.remoteSettings.initialWindowSize !== expected ||
        session.state.remoteWindowSize !== expected) &&
      Date.now() - started < 2_000
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { stream: session.remoteSettings.initialWindowSize, connection: session.state.remoteWindowSize };
  }

  it("lets a client send 4 MiB ahead, per stream and per connection, not HTTP/2's 64 KiB", async () => {
    expect(DEFAULT_FLOW_CONTROL_WINDOW_BYTES).toBe(4 * 1024 * 1024);
    expect(await windowsOffered({})).toEqual({ stream: 4 * 1024 * 1024, connection: 4 * 1024 * 1024 });
  });

  it("opens the window it is configured with, and refuses one HTTP/2 cannot express", async () => {
    expect(await windowsOffered({ flowControlWindowBytes: 1 << 20 })).toEqual({
      stream: 1 << 20,
      connection: 1 << 20,
    });
    const { logger } = createCapturingLogger();
    for (const bad of [1024, 2 ** 31, 65_536.5]) {
      expect(() => createGrpcServer({ logger, flowControlWindowBytes: bad })).toThrow(
        /flowControlWindowBytes/,
      );
    }
  });

  it("moves a client-streamed upload of many large messages whole and in order", async () => {
    const { transport } = await start(echoImpl);
    // 3.8 MB in all: under the 4 MiB response limit, far over HTTP/2's 64 KiB default window.
    const parts = Array.from({ length: 10 }, (_, i) => `part-${i}-${"x".repeat(380 * 1024)}`);
    async function* upload() {
      for (const text of parts) yield { text };
    }
    const joined = await createClient(EchoService, transport).echoClientStream(upload());
    expect(joined.count).toBe(parts.length);
    expect(joined.text).toBe(parts.join(" "));
  });
});

describe("response encoders", () => {
  it("encodes a method's responses with its hand-written encoder, the others with toBinary", async () => {
    const { logger } = createCapturingLogger();
    let encoded = 0;
    const server = createGrpcServer({ logger }).register(EchoService, echoImpl, {
      responseEncoders: {
        echo: (value) => {
          encoded++;
          return toBinary(EchoResponseSchema, create(EchoResponseSchema, value));
        },
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const transport = createGrpcTransport({ address: `127.0.0.1:${port}`, retry: false });
    cleanups.push(() => server.shutdown(1_000));
    cleanups.push(() => transport.close());
    const client = createClient(EchoService, transport);
    expect((await client.echo({ text: "hi" })).text).toBe("hi");
    expect(encoded).toBe(1);
    for await (const _ of client.echoServerStream({ text: "s", repeat: 2 }));
    expect(encoded).toBe(1);
  });

  it("refuses an encoder for a method the service does not have", () => {
    const { logger } = createCapturingLogger();
    expect(() =>
      createGrpcServer({ logger }).register(EchoService, echoImpl, {
        responseEncoders: { nope: () => new Uint8Array() },
      }),
    ).toThrow("seam.testing.v1.EchoService has no method nope to take a response encoder");
  });
});

describe("requests that are no protobuf message", () => {
  it("are answered INVALID_ARGUMENT naming the message type, unary and streamed", async () => {
    const { address } = await start(echoImpl);
    const client = new Client(address, credentials.createInsecure());
    cleanups.push(() => client.close());
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]);
    const asBytes = (b: Buffer): Buffer => b;
    const unary = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest("/seam.testing.v1.EchoService/Echo", asBytes, asBytes, garbage, (err) =>
        resolve(err),
      ),
    );
    expect(unary?.code).toBe(Code.InvalidArgument);
    expect(unary?.details).toMatch(/request is not a valid seam\.testing\.v1\.EchoRequest/);

    const streamed = await new Promise<ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest(
        "/seam.testing.v1.EchoService/EchoClientStream",
        asBytes,
        asBytes,
        (err) => resolve(err),
      );
      call.write(garbage);
      call.end();
    });
    expect(streamed?.code).toBe(Code.InvalidArgument);
    expect(streamed?.details).toMatch(/request is not a valid seam\.testing\.v1\.EchoClientStreamRequest/);
  });
});

describe("unaryBytes (a proxy's call on serialized messages)", () => {
  it("returns the response bytes with headers and trailers, and a failure as its status", async () => {
    const { transport } = await start(echoImpl);
    const request = toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "hi" }));
    const ok = await transport.unaryBytes(EchoService.method.echo, request, {
      headers: [["x-echo", "yes"]],
      deadline: Date.now() + 5_000,
    });
    expect(ok.code).toBe(0);
    expect(fromBinary(EchoResponseSchema, ok.message as Buffer).text).toBe("hi");
    expect(ok.header["x-echo"]).toEqual(["yes"]);
    expect(ok.trailer["x-echo-trailer"]).toEqual(["yes"]);

    const failing = await start({});
    const unimplemented = await failing.transport.unaryBytes(EchoService.method.echo, request, {
      headers: [],
      deadline: Date.now() + 5_000,
    });
    expect(unimplemented.code).toBe(Code.Unimplemented);
    expect(unimplemented.message).toBeUndefined();
  });

  it("reports CANCELLED when the signal aborts, and DEADLINE_EXCEEDED past the deadline", async () => {
    const { transport } = await start({
      async echo(_req, ctx) {
        await aborted(ctx.signal);
        return { text: "late" };
      },
    });
    const request = toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "hi" }));
    const abort = new AbortController();
    const pending = transport.unaryBytes(EchoService.method.echo, request, {
      headers: [],
      deadline: Date.now() + 5_000,
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 50);
    expect((await pending).code).toBe(Code.Canceled);
    const late = await transport.unaryBytes(EchoService.method.echo, request, {
      headers: [],
      deadline: Date.now() + 100,
    });
    expect(late.code).toBe(Code.DeadlineExceeded);
  });

  it("reports UNIMPLEMENTED when a server answers OK with no message or with two", async () => {
    const frame = Buffer.from([0, 0, 0, 0, 0]); // one empty message
    const server = createHttp2Server();
    server.on("stream", (stream, headers) => {
      stream.resume();
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(headers["x-messages"] === "2" ? Buffer.concat([frame, frame]) : undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const transport = createGrpcTransport({
      address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      retry: false,
    });
    try {
      const request = toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "hi" }));
      for (const messages of ["0", "2"]) {
        const result = await transport.unaryBytes(EchoService.method.echo, request, {
          headers: [["x-messages", messages]],
          deadline: Date.now() + 5_000,
        });
        expect(result.code).toBe(Code.Unimplemented);
        expect(result.message).toBeUndefined();
      }
    } finally {
      transport.close();
      server.close();
    }
  });
});
