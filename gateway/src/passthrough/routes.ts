import type { DescMethod, DescMethodUnary, DescService } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import type { RawUnaryCall } from "@seam/kit/hosting";

/** A unary method whose backend takes requests as bytes. */
export interface BytesRoute {
  readonly method: DescMethodUnary;
  readonly call: RawUnaryCall;
}

/**
 * The unary methods, by request path (`/package.Service/Method`), of every service whose
 * transport forwards bytes (the kit's grpc-js transport does; an in-memory one does not).
 */
export function bytesRoutes(
  services: ReadonlyArray<{ readonly service: DescService; readonly transport: Transport }>,
): Map<string, BytesRoute> {
  const routes = new Map<string, BytesRoute>();
  for (const { service, transport } of services) {
    const call = rawUnaryCallOf(transport);
    if (call === undefined) continue;
    for (const method of service.methods.filter(isUnary)) {
      routes.set(`/${service.typeName}/${method.name}`, { method, call });
    }
  }
  return routes;
}

function isUnary(method: DescMethod): method is DescMethodUnary {
  return method.methodKind === "unary";
}

function rawUnaryCallOf(transport: Transport): RawUnaryCall | undefined {
  const candidate = (transport as { unaryBytes?: unknown }).unaryBytes;
  return typeof candidate === "function" ? (candidate as RawUnaryCall) : undefined;
}
