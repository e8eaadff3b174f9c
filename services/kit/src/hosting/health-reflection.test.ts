import { createRequire } from "node:module";
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { afterEach, describe, expect, it } from "vitest";
import { createGrpcServer } from "./server.js";
import { createCapturingLogger, EchoService, echoImpl } from "./testdata/echo.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type HealthClient = grpc.Client & {
  check(
    req: { service: string },
    callback: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
};

function healthClient(port: number): HealthClient {
  const Client = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health");
  const client = new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as HealthClient;
  cleanups.push(() => client.close());
  return client;
}

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => (err === null ? resolve(res?.status ?? "") : reject(err))),
  );
}

describe("health", () => {
  it("reports SERVING after listen and NOT_SERVING while draining", async () => {
    const { logger } = createCapturingLogger();
    const server = createGrpcServer({ logger, drainDelayMs: 300 }).register(EchoService, echoImpl);
    const port = await server.listen("127.0.0.1", 0);
    const client = healthClient(port);
    expect(await check(client, "")).toBe("SERVING");
    expect(await check(client, "seam.testing.v1.EchoService")).toBe("SERVING");

    const stopped = server.shutdown(2_000);
    expect(await check(client, "")).toBe("NOT_SERVING");
    expect(await check(client, "seam.testing.v1.EchoService")).toBe("NOT_SERVING");
    await stopped;
    await expect(check(client, "")).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });
});

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

function reflectionClient(port: number) {
  // The reflection protos ship inside @grpc/reflection.
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve("@grpc/reflection/package.json"));
  const definition = protoLoader.loadSync(
    path.join(root, "build/proto/grpc/reflection/v1/reflection.proto"),
    {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new loaded.grpc.reflection.v1.ServerReflection(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    serverReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse>;
  };
  cleanups.push(() => client.close());
  return client;
}

function ask(client: ReturnType<typeof reflectionClient>, request: object): Promise<ReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo();
    call.on("data", (res: ReflectionResponse) => {
      resolve(res);
      call.end();
    });
    call.on("error", reject);
    call.write(request);
  });
}

describe("reflection", () => {
  it("lists the registered services and returns the file declaring a symbol", async () => {
    const { logger } = createCapturingLogger();
    const server = createGrpcServer({ logger }).register(EchoService, echoImpl);
    const port = await server.listen("127.0.0.1", 0);
    cleanups.push(() => server.shutdown(1_000));
    const client = reflectionClient(port);

    const listed = await ask(client, { listServices: "*" });
    const names = listed.listServicesResponse?.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["seam.testing.v1.EchoService", "grpc.health.v1.Health"]));

    const found = await ask(client, { fileContainingSymbol: "seam.testing.v1.EchoService" });
    const [first] = found.fileDescriptorResponse?.fileDescriptorProto ?? [];
    expect(first).toBeDefined();
    const file = fromBinary(FileDescriptorProtoSchema, first as Buffer);
    expect(file.name).toBe("seam/testing/v1/echo.proto");
    expect(file.service.map((s) => s.name)).toEqual(["EchoService"]);
    expect(file.service[0]?.method.map((m) => m.name)).toContain("EchoBidi");

    const message = await ask(client, { fileContainingSymbol: "seam.testing.v1.EchoRequest" });
    expect(message.fileDescriptorResponse?.fileDescriptorProto).toHaveLength(1);
  });
});
