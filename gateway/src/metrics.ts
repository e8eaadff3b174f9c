import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createRpcServerMetrics, type RpcRecorder, type RpcServerMetrics } from "@seam/kit/telemetry";

/**
 * A server interceptor recording the kit's per-RPC metrics for every call the gateway
 * serves: `rpc.server.duration` (ms) and `seam.rpc.errors`, with rpc.system "connect_rpc",
 * rpc.service, rpc.method and rpc.grpc.status_code. A streamed call is measured until its
 * stream completes, fails or is abandoned (CANCELLED). `recorderOf` defaults to a fresh
 * {@link createMethodRecorders}; with no MeterProvider registered it is `undefined` and so
 * is the interceptor: the gateway then adds none at all.
 */
export function createMetricsInterceptor(
  recorderOf: MethodRecorders | undefined = createMethodRecorders(),
): Interceptor | undefined {
  if (recorderOf === undefined) return undefined;
  return (next) => async (request) => {
    const record = recorderOf(request.method);
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

/** The gateway's per-RPC metrics recorder of each method (made once per method). */
export type MethodRecorders = (method: DescMethod) => RpcRecorder;

/**
 * The recorders of the gateway's `rpc.server.duration` and `seam.rpc.errors` per method,
 * shared by every path a call can take through the gateway; `undefined` when no
 * MeterProvider is registered (decided now).
 */
export function createMethodRecorders(): MethodRecorders | undefined {
  const metrics = createRpcServerMetrics({ meterName: "@seam/gateway", system: "connect_rpc" });
  if (metrics === undefined) return undefined;
  return recordersOf(metrics);
}

function recordersOf(metrics: RpcServerMetrics): MethodRecorders {
  const recorders = new WeakMap<DescMethod, RpcRecorder>();
  return (method) => {
    let record = recorders.get(method);
    if (record === undefined) {
      record = metrics.method(method.parent.typeName, method.name);
      recorders.set(method, record);
    }
    return record;
  };
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
