import { type Attributes, type Counter, createNoopMeter, type Histogram, metrics } from "@opentelemetry/api";

/** Records one finished server call: its gRPC status code (0 = OK) and duration in ms. */
export type RpcRecorder = (code: number, durationMs: number) => void;

/** Per-RPC server metrics of one server; see {@link createRpcServerMetrics}. */
export interface RpcServerMetrics {
  /** The recorder of one method; its attribute sets are built once per status code. */
  method(service: string, method: string): RpcRecorder;
}

/** Options of {@link createRpcServerMetrics}. */
export interface RpcServerMetricsOptions {
  /** The meter (instrumentation scope) name, e.g. "@seam/kit". */
  readonly meterName: string;
  /** `rpc.system`: "grpc" for grpc-js servers, "connect_rpc" for the Connect gateway. */
  readonly system: string;
}

/** Histogram boundaries (ms) fit for in-cluster RPCs: sub-millisecond up to a minute. */
const DURATION_BUCKETS_MS = [
  0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];

// One registered status-code attribute set per method and code: the SDK hashes attributes on
// every record, but building the object each call would add an allocation on the hot path.
const MAX_CODE = 16;

/**
 * Per-RPC server metrics, or `undefined` when no MeterProvider is registered, so a server
 * built then pays nothing per call. Decided when called: create servers after the process
 * has started its telemetry (the preload does it before any application code).
 *
 * Instruments (OpenTelemetry RPC conventions, durations in ms):
 * - `rpc.server.duration` histogram, attributes `rpc.system`, `rpc.service`, `rpc.method` and
 *   `rpc.grpc.status_code` (numeric): its count is the request count by method and code;
 * - `seam.rpc.errors` counter, same attributes, only for calls that did not end OK.
 */
export function createRpcServerMetrics(options: RpcServerMetricsOptions): RpcServerMetrics | undefined {
  const meter = metrics.getMeter(options.meterName);
  if (meter === createNoopMeter()) return undefined;
  const duration: Histogram = meter.createHistogram("rpc.server.duration", {
    description: "Duration of inbound RPCs, by method and gRPC status code",
    unit: "ms",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_MS },
  });
  const errors: Counter = meter.createCounter("seam.rpc.errors", {
    description: "Inbound RPCs that did not end OK, by method and gRPC status code",
  });
  return {
    method(service, method) {
      const byCode: Attributes[] = [];
      const attributesOf = (code: number): Attributes => {
        const cached = byCode[code];
        if (cached !== undefined) return cached;
        const attributes: Attributes = {
          "rpc.system": options.system,
          "rpc.service": service,
          "rpc.method": method,
          "rpc.grpc.status_code": code,
        };
        if (code >= 0 && code <= MAX_CODE) byCode[code] = attributes;
        return attributes;
      };
      return (code, durationMs) => {
        const attributes = attributesOf(code);
        duration.record(durationMs, attributes);
        if (code !== 0) errors.add(1, attributes);
      };
    },
  };
}
