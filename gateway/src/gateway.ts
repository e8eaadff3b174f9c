import { setMaxListeners } from "node:events";
import { createServer as createHttp1Server } from "node:http";
import { createServer as createHttp2Server, type ServerHttp2Session } from "node:http2";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "@seam/kit/logging";
import { markConnectionUntraced, startMetricsEndpoint } from "@seam/kit/telemetry";
import { DEFAULT_MAX_REQUEST_BYTES } from "./config.js";
import { createCorsHandler, type NodeRequest, type NodeResponse } from "./cors.js";
import { dispatchConnection } from "./dispatch.js";
import { routeToBackend } from "./forward.js";
import { DEFAULT_FORWARDED_HEADERS } from "./headers.js";
import { createMethodRecorders, createMetricsInterceptor } from "./metrics.js";
import { createUnaryPassThrough } from "./passthrough/index.js";
import { createTracingInterceptor } from "./tracing.js";

/** One public service and the transport reaching its backend. */
export interface GatewayService {
  readonly service: DescService;
  readonly transport: Transport;
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Every RPC of each service is served and forwarded to its transport. */
  readonly services: readonly GatewayService[];
  readonly logger: Logger;
  /** Largest request message read; bigger ones fail RESOURCE_EXHAUSTED. Default 4 MiB. */
  readonly maxRequestBytes?: number;
  /** Browser origins allowed by CORS: exact origins or "*" (the default). */
  readonly corsOrigins?: readonly string[];
  /** Request headers forwarded besides custom `x-` ones. Default ["authorization"]. */
  readonly forwardedHeaders?: readonly string[];
  /**
   * Interceptors run inside the tracing interceptor, e.g. authentication. With any set,
   * every call takes connect-node's path (no byte-level gRPC pass-through).
   */
  readonly interceptors?: readonly Interceptor[];
  /** How long close() lets in-flight calls finish before cancelling them. Default 5 s. */
  readonly shutdownGraceMs?: number;
}

/** A running (or ready to run) gateway. */
export interface Gateway {
  /** Starts serving on host:port (0 picks a free port); resolves to the bound port. */
  listen(host: string, port: number): Promise<number>;
  /**
   * Stops accepting connections, lets in-flight calls finish for the grace period,
   * then cancels what is left (endless streams such as WatchEvents) and closes.
   */
  close(): Promise<void>;
}

/**
 * The public door of Seam: one cleartext port speaking HTTP/2 with HTTP/1.1
 * fallback, serving the Connect protocol (JSON and binary), gRPC-Web and gRPC for
 * every RPC of the given services, forwarded to their backends with deadlines,
 * cancellation, streams, headers and error codes intact. Also answers CORS
 * preflights and `GET /healthz` (200 while serving) for load balancers. Each call
 * gets a server span and, when a MeterProvider is registered at creation, the per-RPC
 * metrics of {@link createMetricsInterceptor}.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const logger = options.logger;
  const forwardedHeaders = new Set((options.forwardedHeaders ?? DEFAULT_FORWARDED_HEADERS).map(lower));
  const shutdown = new AbortController();
  // Every running call listens on this one signal: hundreds at once are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  const handleCors = createCorsHandler(options.corsOrigins ?? ["*"], forwardedHeaders);
  // Absent when no MeterProvider is registered: then calls pay nothing for metrics.
  const recorderOf = createMethodRecorders();
  const metrics = createMetricsInterceptor(recorderOf);
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  // Unary calls skip connect-node's pipeline when the backend's transport takes bytes;
  // not when extra interceptors (e.g. authentication) must see every call.
  const passThrough = createUnaryPassThrough({
    services: (options.interceptors ?? []).length === 0 ? options.services : [],
    maxRequestBytes,
    forwardedHeaders,
    ...(recorderOf === undefined ? {} : { recorderOf }),
  });
  const handleRpc = connectNodeAdapter({
    routes(router) {
      for (const { service, transport } of options.services) {
        routeToBackend(router, service, transport, { forwardedHeaders });
      }
    },
    readMaxBytes: maxRequestBytes,
    // Tracing first, so every other interceptor and the handler run inside the server span.
    interceptors: [
      createTracingInterceptor(),
      ...(metrics === undefined ? [] : [metrics]),
      ...(options.interceptors ?? []),
    ],
    shutdownSignal: shutdown.signal,
  });

  const connections = new ConnectionTracker();
  const handle = (req: NodeRequest, res: NodeResponse): void => {
    connections.onRequest(req, res);
    if (req.method === "GET" && (req.url === "/healthz" || req.url?.startsWith("/healthz?"))) {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (handleCors(req, res)) return;
    if (passThrough(req, res)) return;
    handleRpc(req, res);
  };
  const http1 = createHttp1Server(handle);
  const http2 = createHttp2Server(handle);
  http2.on("session", (session) => connections.onSession(session));
  http2.on("sessionError", (error) => logger.warn({ err: error }, "http2 session error"));
  // No Nagle delay on small replies, as node's own HTTP servers default to.
  const server = createTcpServer({ noDelay: true }, (socket) => {
    // The RPC span of the tracing interceptor is this request's server span; an HTTP
    // span from the http instrumentation (HTTP/1.1 only) would duplicate it.
    markConnectionUntraced(socket);
    connections.onSocket(socket);
    dispatchConnection(socket, http1, http2);
  });

  return {
    async listen(host, port) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const bound = (server.address() as AddressInfo).port;
      // The process's Prometheus endpoint (SEAM_METRICS_PORT), unless a server opened it already.
      await startMetricsEndpoint(logger);
      logger.info(
        { host, port: bound, services: options.services.map((s) => s.service.typeName) },
        "gateway listening",
      );
      return bound;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // The TCP server closes once every connection it accepted has ended.
      connections.drain();
      const graceMs = options.shutdownGraceMs ?? 5_000;
      const timer = setTimeout(() => {
        logger.warn({ graceMs }, "gateway: cancelling calls still running after the grace period");
        shutdown.abort();
        connections.destroyAll();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      logger.info("gateway closed");
    },
  };
}

// server.close() waits for every accepted connection to end, but HTTP/2 sessions
// and HTTP/1.1 keep-alive sockets stay open while idle. This closes them once idle.
class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  // In-flight requests per HTTP/1.1 socket; HTTP/2 sessions count their own streams.
  private readonly http1InFlight = new Map<Socket, number>();
  private draining = false;

  onSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.http1InFlight.delete(socket);
    });
  }

  onSession(session: ServerHttp2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    if (this.draining) session.close();
  }

  onRequest(req: NodeRequest, res: NodeResponse): void {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as Socket;
    this.http1InFlight.set(socket, (this.http1InFlight.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (this.http1InFlight.get(socket) ?? 1) - 1;
      this.http1InFlight.set(socket, left);
      if (this.draining && left === 0) socket.destroy();
    });
  }

  drain(): void {
    this.draining = true;
    // GOAWAY: no new streams, running ones finish.
    for (const session of this.sessions) session.close();
    for (const [socket, inFlight] of this.http1InFlight) if (inFlight === 0) socket.destroy();
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}

function lower(name: string): string {
  return name.toLowerCase();
}
