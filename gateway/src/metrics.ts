import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createRpcServerMetrics, type RpcRecorder, type RpcServerMetrics } from "@seam/kit/telemetry";

/**
 * A server interceptor recording the kit's per-RPC metrics for every call the gateway
 * serves: `rpc.server.duration` (ms) and `seam.rpc.errors`, with rpc.system "connect_rpc",
 * rpc.service, rpc.method and rpc.grpc.status_code. A streamed call is measured until its
 * stream completes, fails or is abandoned (CANCELLED). Returns `undefined` when no
 * MeterProvider is registered (decided now), so the gateway then adds no interceptor at all.
 */
export function createMetricsInterceptor(): Interceptor | undefined {
  const metrics = createRpcServerMetrics({ meterName: "@seam/gateway", system: "connect_rpc" });
  if (metrics === undefined) return undefined;
  const recorders = new WeakMap<DescMethod, RpcRecorder>();
  return (next) => async (request) => {
    const record = recorderOf(recorders, metrics, request.method);
    const startedAt = performance.now();
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await next(request);
    } catch (error) {
      record(ConnectError.from(error).code, performance.now() - startedAt);
      throw error;
    }
    if (!response.stream) {
      record(0, performance.now() - startedAt);
      return response;
    }
    return { ...response, message: measuredStream(response.message, record, startedAt) };
  };
}

function recorderOf(
  recorders: WeakMap<DescMethod, RpcRecorder>,
  metrics: RpcServerMetrics,
  method: DescMethod,
): RpcRecorder {
  let record = recorders.get(method);
  if (record === undefined) {
    record = metrics.method(method.parent.typeName, method.name);
    recorders.set(method, record);
  }
  return record;
}

async function* measuredStream<T>(
  messages: AsyncIterable<T>,
  record: RpcRecorder,
  startedAt: number,
): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let code: number | undefined;
  try {
    for (;;) {
      const result = await iterator.next();
      if (result.done === true) break;
      yield result.value;
    }
    code = 0;
  } catch (error) {
    code = ConnectError.from(error).code;
    throw error;
  } finally {
    if (code === undefined) {
      // The client went away mid-stream; let the handler's finally blocks run too.
      code = Code.Canceled;
      await iterator.return?.();
    }
    record(code, performance.now() - startedAt);
  }
}
