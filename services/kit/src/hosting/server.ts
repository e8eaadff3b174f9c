import { setMaxListeners } from "node:events";
import type { DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createServiceImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import { type ChannelOptions, Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Logger } from "pino";
import { startMetricsEndpoint } from "../telemetry/metrics-endpoint.js";
import { createRpcServerMetrics } from "../telemetry/rpc-metrics.js";
import { sleep } from "./internal/async.js";
import type { CallContext } from "./internal/call-context.js";
import {
  applyFlowControlWindow,
  checkFlowControlWindow,
  DEFAULT_FLOW_CONTROL_WINDOW_BYTES,
} from "./internal/flow-control.js";
import { createGrpcImplementation, type GrpcCallInfo } from "./internal/server-handlers.js";
import { createReflectionService } from "./reflection.js";
import { createGrpcServiceDefinition, type ResponseEncoders } from "./service-definition.js";

export type { ServingStatus } from "grpc-health-check";
export { DEFAULT_FLOW_CONTROL_WINDOW_BYTES } from "./internal/flow-control.js";
export type { GrpcCallInfo } from "./internal/server-handlers.js";

/** 4 MiB, gRPC's customary message limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Options of {@link createGrpcServer}. Durations in milliseconds. */
export interface GrpcServerOptions {
  /** Root logger; unexpected handler errors are logged here with their rpc name. */
  readonly logger: Logger;
  /** Largest request message accepted; larger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest response message sent; larger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB. */
  readonly maxSendMessageBytes?: number;
  /** Interval of server keepalive pings (`grpc.keepalive_time_ms`). Default 60 s. */
  readonly keepaliveTimeMs?: number;
  /** How long a ping may go unanswered before the connection is dropped. Default 20 s. */
  readonly keepaliveTimeoutMs?: number;
  /** `grpc.keepalive_permit_without_calls`; grpc-js servers ignore it today, C-core ones do not. Default true. */
  readonly keepalivePermitWithoutCalls?: boolean;
  /**
   * Connections are closed (GOAWAY) after this age so clients re-resolve and spread
   * over new replicas. Default 5 min.
   */
  readonly maxConnectionAgeMs?: number;
  /** Time in-flight calls get after the max-age GOAWAY. Default 30 s. */
  readonly maxConnectionAgeGraceMs?: number;
  /**
   * Pause between reporting NOT_SERVING and refusing new calls during shutdown, so
   * load balancers and readiness probes notice first. Default 0.
   */
  readonly drainDelayMs?: number;
  /**
   * HTTP/2 flow-control window each connection opens, per stream and per connection:
   * how much a client may send ahead of the handler. Default 4 MiB; HTTP/2's own 64 KiB
   * starves client-streaming uploads.
   */
  readonly flowControlWindowBytes?: number;
  /** Host grpc.reflection v1 and v1alpha. Default true. */
  readonly reflection?: boolean;
  /** Per-call ContextValues for handlers (`ctx.values`), e.g. an authenticated principal. */
  readonly contextValues?: GrpcServerContextValues;
  /** Raw grpc-js options, applied last (escape hatch). */
  readonly channelOptions?: ChannelOptions;
}

/** Factory of the ContextValues a handler sees as `ctx.values`. */
export type GrpcServerContextValues = (call: GrpcCallInfo) => ContextValues;

/** Options of {@link GrpcServer.register}. */
export interface RegisterOptions {
  /**
   * Hand-written encoders of some methods' responses, by method local name, used instead of
   * the generic `toBinary` (see {@link MessageEncoder}: they must produce identical bytes).
   */
  readonly responseEncoders?: ResponseEncoders;
}

/** A grpc-js server hosting connect-es service implementations. */
export interface GrpcServer {
  /**
   * Hosts `impl` for `service`. Methods missing from `impl` answer UNIMPLEMENTED.
   * Must be called before {@link GrpcServer.listen}. Returns the server for chaining.
   */
  register<S extends DescService>(
    service: S,
    impl: Partial<ServiceImpl<S>>,
    options?: RegisterOptions,
  ): GrpcServer;
  /**
   * Binds `host:port` (port 0 picks a free one), opens the process's metrics endpoint if
   * it has one and it is not open yet, then reports SERVING for "" and every registered
   * service. Resolves to the bound port.
   */
  listen(host: string, port: number): Promise<number>;
  /** Sets the grpc.health.v1 status of one service name ("" is the whole server). */
  setServingStatus(service: string, status: ServingStatus): void;
  /**
   * Drains: reports NOT_SERVING for every name, waits `drainDelayMs`, stops accepting
   * calls and waits for running ones; after `graceMs` (default 5 s) it cancels what is
   * left. Resolves when the server is down; calling it again returns the same promise.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** Fully-qualified names of the registered services. */
  readonly serviceNames: readonly string[];
  /** True once {@link GrpcServer.shutdown} has begun (readiness checks answer "not ready"). */
  readonly draining: boolean;
  /**
   * Aborted when draining stops taking new calls (after `drainDelayMs`): long-lived streams
   * that would otherwise hold the shutdown for its whole grace period (event subscriptions)
   * end on it, and their clients reconnect to another replica.
   */
  readonly drainSignal: AbortSignal;
}

function bindAddress(host: string, port: number): string {
  // IPv6 literals need brackets in a grpc-js target.
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Creates the one grpc-js server of a service process. Handlers are connect-es
 * `ServiceImpl`s: each call gets a HandlerContext whose `signal` aborts on client
 * cancel, deadline and forced shutdown, whose `timeoutMs()` counts down the grpc
 * deadline, and whose response headers and trailers are sent as metadata. Anything
 * a handler throws is mapped once with `toConnectError`; unexpected errors become
 * INTERNAL "internal error" and are logged, never sent. grpc.health.v1 and
 * reflection are hosted alongside.
 *
 * When a MeterProvider is registered at creation (the process started its telemetry with
 * metrics on), every call records `rpc.server.duration` (ms; rpc.system "grpc", rpc.service,
 * rpc.method, rpc.grpc.status_code) and, unless OK, `seam.rpc.errors`; without one calls
 * pay nothing for metrics. `listen` also opens the process's Prometheus endpoint when
 * SEAM_METRICS_PORT asks for one (see `startMetricsEndpoint`).
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const logger = options.logger;
  const flowControlWindow = checkFlowControlWindow(
    options.flowControlWindowBytes ?? DEFAULT_FLOW_CONTROL_WINDOW_BYTES,
  );
  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.keepalive_time_ms": options.keepaliveTimeMs ?? 60_000,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? 20_000,
    "grpc.keepalive_permit_without_calls": (options.keepalivePermitWithoutCalls ?? true) ? 1 : 0,
    "grpc.max_connection_age_ms": options.maxConnectionAgeMs ?? 5 * 60_000,
    "grpc.max_connection_age_grace_ms": options.maxConnectionAgeGraceMs ?? 30_000,
    // No channelz service is registered, so its per-call bookkeeping would go unread.
    "grpc.enable_channelz": 0,
    ...options.channelOptions,
  });
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  const services: DescService[] = [];
  // The calls running now, aborted when the server is forced down.
  const calls = new Set<CallContext>();
  // Decided now: with no MeterProvider registered yet, calls of this server record nothing.
  const metrics = createRpcServerMetrics({ meterName: "@seam/kit", system: "grpc" });
  const handlerOptions = {
    logger,
    calls,
    ...(options.contextValues === undefined ? {} : { contextValues: options.contextValues }),
    ...(metrics === undefined ? {} : { metrics }),
  };
  let state: "new" | "listening" | "stopping" = "new";
  let shutdownPromise: Promise<void> | undefined;
  const drainController = new AbortController();
  setMaxListeners(0, drainController.signal);

  const allNames = (): string[] => ["", ...services.map((service) => service.typeName)];

  async function drain(graceMs: number): Promise<void> {
    state = "stopping";
    for (const name of allNames()) health.setStatus(name, "NOT_SERVING");
    if ((options.drainDelayMs ?? 0) > 0) await sleep(options.drainDelayMs ?? 0);
    drainController.abort(new ConnectError("the server is draining", Code.Unavailable));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger.warn({ graceMs }, "calls still running after the grace period; cancelling them");
        const reason = new ConnectError("the server is shutting down", Code.Unavailable);
        for (const call of calls) call.abort(reason);
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    logger.info("grpc server stopped");
  }

  const grpcServer: GrpcServer = {
    register(service, impl, registerOptions = {}) {
      if (state !== "new")
        throw new Error(`cannot register ${service.typeName}: the server is already listening`);
      if (services.some((s) => s.typeName === service.typeName)) {
        throw new Error(`${service.typeName} is already registered`);
      }
      const spec = createServiceImplSpec(service, impl);
      server.addService(
        createGrpcServiceDefinition(service, registerOptions.responseEncoders),
        createGrpcImplementation(spec, handlerOptions),
      );
      services.push(service);
      return grpcServer;
    },

    async listen(host, port) {
      if (state !== "new") throw new Error("the server is already listening or stopped");
      state = "listening";
      health.addToServer(server);
      if (options.reflection ?? true) createReflectionService(services).addToServer(server);
      const bound = await new Promise<number>((resolve, reject) => {
        server.bindAsync(bindAddress(host, port), ServerCredentials.createInsecure(), (err, boundPort) =>
          err === null ? resolve(boundPort) : reject(err),
        );
      });
      applyFlowControlWindow(server, flowControlWindow, logger);
      // The process's Prometheus endpoint (SEAM_METRICS_PORT), opened by its first server.
      await startMetricsEndpoint(logger);
      for (const name of allNames()) health.setStatus(name, "SERVING");
      logger.info({ host, port: bound, services: grpcServer.serviceNames }, "grpc server listening");
      return bound;
    },

    setServingStatus(service, status) {
      health.setStatus(service, status);
    },

    shutdown(graceMs = 5_000) {
      shutdownPromise ??= drain(graceMs);
      return shutdownPromise;
    },

    get serviceNames() {
      return services.map((service) => service.typeName);
    },

    get draining() {
      return shutdownPromise !== undefined;
    },

    drainSignal: drainController.signal,
  };
  return grpcServer;
}
