/**
 * The floor under the gateway benchmark: two bare servers answering GetModel with a
 * constant, one hosted by the kit on grpc-js, one by connect-node (as the gateway is),
 * with no storage and no forwarding. Started as a child process by gateway-overhead.ts;
 * prints "grpcjs <port>" and "connect <port>".
 */
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createGrpcServer } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { GetModelResponseSchema, ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";

// Shaped like the benchmark's real model: name, description, a tag, two timestamps.
const response = create(GetModelResponseSchema, {
  model: {
    name: "bench-model",
    description: "gateway overhead benchmark",
    tags: { a: "b" },
    createTime: timestampNow(),
    updateTime: timestampNow(),
  },
});
const impl = { getModel: async () => response };

const grpcServer = createGrpcServer({ logger: createLogger({ service: "bench-floor", level: "warn" }) });
grpcServer.register(ModelRegistryService, impl);
console.log(`grpcjs ${await grpcServer.listen("127.0.0.1", 0)}`);

const connectServer = createServer(
  connectNodeAdapter({ routes: (router) => router.service(ModelRegistryService, impl) }),
);
await new Promise<void>((resolve) => connectServer.listen(0, "127.0.0.1", resolve));
console.log(`connect ${(connectServer.address() as AddressInfo).port}`);
