import type { Interceptor } from "@connectrpc/connect";
import { toConnectError } from "./domain-errors.js";

/**
 * Maps what handlers throw to ConnectErrors exactly as the grpc-js hosting adapter
 * does ({@link toConnectError}), for services hosted another way — connect's in-memory
 * router transport in tests, or a connect-node router. Streams are mapped too.
 */
export function createDomainErrorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const source = res.message;
      async function* mapped() {
        try {
          yield* source;
        } catch (err) {
          throw toConnectError(err, req.signal);
        }
      }
      return { ...res, message: mapped() };
    } catch (err) {
      throw toConnectError(err, req.signal);
    }
  };
}
