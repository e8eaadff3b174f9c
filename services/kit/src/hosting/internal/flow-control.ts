import type { Http2Server, ServerHttp2Session } from "node:http2";
import type { Server } from "@grpc/grpc-js";
import type { Logger } from "pino";

/**
 * HTTP/2 flow-control window a kit server opens per stream and per connection: 4 MiB.
 *
 * HTTP/2 starts every stream and connection at 64 KiB, and grpc-js servers keep that:
 * a client-streaming upload can then have only 64 KiB in flight, so while the handler
 * works on one message the sender stalls, and the next message crawls in at one
 * WINDOW_UPDATE round trip per 64 KiB (measured: the datasets service's main thread sat
 * idle for a fifth of a 200 MB CSV upload). This is the window a grpc-js client opens
 * with its `grpc-node.flow_control_window` option; the server has no such option.
 */
export const DEFAULT_FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

/** Largest window HTTP/2 allows (2^31 - 1). */
const MAX_WINDOW_BYTES = 2 ** 31 - 1;

/** `bytes` if it is a valid window (HTTP/2's default of 65535 up to 2^31 - 1); throws otherwise. */
export function checkFlowControlWindow(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 65_535 || bytes > MAX_WINDOW_BYTES) {
    throw new Error(
      `flowControlWindowBytes must be an integer from 65535 to ${MAX_WINDOW_BYTES}, not ${bytes}`,
    );
  }
  return bytes;
}

/** The grpc-js server's own HTTP/2 servers: not public API, hence looked up defensively. */
function http2ServersOf(server: Server): Iterable<Http2Server> | undefined {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  return servers instanceof Map ? (servers.keys() as Iterable<Http2Server>) : undefined;
}

/** Opens `bytes` of window on a new session: per stream (SETTINGS) and for the connection. */
function openWindow(session: ServerHttp2Session, bytes: number): void {
  session.settings({ initialWindowSize: bytes });
  session.setLocalWindowSize(bytes);
}

/**
 * Makes every connection a bound grpc-js `server` accepts from now on advertise a
 * `bytes` flow-control window, per stream and per connection. Call right after
 * `bindAsync`. Memory stays bounded: a stream's window only reopens as grpc-js reads
 * it, so a handler that reads slowly holds at most `bytes` unread per stream.
 *
 * Logs a warning if this grpc-js version does not expose its HTTP/2 servers: connections
 * then keep HTTP/2's 64 KiB default (slower uploads, nothing worse).
 */
export function applyFlowControlWindow(server: Server, bytes: number, logger: Logger): void {
  const servers = http2ServersOf(server);
  if (servers === undefined) {
    logger.warn("this grpc-js version hides its HTTP/2 servers: keeping HTTP/2's 64 KiB flow-control window");
    return;
  }
  for (const http2Server of servers) {
    http2Server.on("session", (session: ServerHttp2Session) => openWindow(session, bytes));
  }
}
