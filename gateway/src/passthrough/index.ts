import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { NodeRequest, NodeResponse } from "../cors.js";
import type { GatewayService } from "../gateway.js";
import { serveConnectUnary } from "./connect-unary.js";
import type { ForwardOptions } from "./forward.js";
import { serveGrpcUnary } from "./grpc.js";
import { bytesRoutes } from "./routes.js";

/** Options of {@link createUnaryPassThrough}. */
export interface UnaryPassThroughOptions extends ForwardOptions {
  readonly services: readonly GatewayService[];
}

/** Serves a request and returns true, or returns false (untouched) when it is not one to take. */
export type UnaryPassThrough = (req: NodeRequest, res: NodeResponse) => boolean;

/**
 * The gateway's fast path for unary calls, the bulk of its traffic: plain gRPC requests
 * reach the backend as the bytes they arrived as, Connect (JSON or binary) requests are
 * transcoded once, and neither goes through connect-node's generic stream pipeline,
 * which measured as most of a gateway hop's cost. Deadlines, cancellation, forwarded
 * headers, trace context, status, error details and metadata behave as on connect-node's
 * path, and the call gets the same span and metrics. Streaming methods, gRPC-Web, GET,
 * compressed bodies and backends that cannot take bytes go to connect-node.
 */
export function createUnaryPassThrough(options: UnaryPassThroughOptions): UnaryPassThrough {
  const routes = bytesRoutes(options.services);
  return (req, res) => {
    if (req.method !== "POST") return false;
    const route = routes.get(req.url ?? "");
    if (route === undefined) return false;
    if (
      req.httpVersionMajor === 2 &&
      serveGrpcUnary(route, req as Http2ServerRequest, res as Http2ServerResponse, options)
    ) {
      return true;
    }
    return serveConnectUnary(route, req, res, options);
  };
}
