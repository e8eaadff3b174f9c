import { Writable } from "node:stream";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { EchoService } from "@seam/proto/seam/testing/v1/echo_pb";
import { createLogger, type Logger } from "../../logging/index.js";

/** A logger whose JSON lines tests can read back. */
export function createCapturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = createLogger({ service: "kit-test", level: "debug", destination });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

/** Resolves once the signal aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

/** A straightforward EchoService: every kind echoes, and copies the "x-echo" header back. */
export const echoImpl: ServiceImpl<typeof EchoService> = {
  echo(req, ctx: HandlerContext) {
    const echo = ctx.requestHeader.get("x-echo");
    if (echo !== null) {
      ctx.responseHeader.set("x-echo", echo);
      ctx.responseTrailer.set("x-echo-trailer", echo);
    }
    return { text: req.text, payload: req.payload };
  },
  echoNoRetry(req) {
    return { text: req.text };
  },
  async *echoServerStream(req, ctx) {
    ctx.responseHeader.set("x-kind", "server-stream");
    for (let index = 0; index < req.repeat; index++) yield { text: req.text, index };
    ctx.responseTrailer.set("x-count", String(req.repeat));
  },
  async echoClientStream(requests) {
    const texts: string[] = [];
    for await (const req of requests) texts.push(req.text);
    return { text: texts.join(" "), count: texts.length };
  },
  async *echoBidi(requests) {
    for await (const req of requests) yield { text: req.text };
  },
};

export { EchoService };
