// A small in-memory registry backend for the gateway tests: real handlers, recording
// what reached them (headers, deadlines, cancellation) so tests can assert it.
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createRouterTransport,
  type HandlerContext,
  type ServiceImpl,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcServer, createGrpcTransport, type GrpcTransport } from "@seam/kit/hosting";
import type { Logger } from "@seam/kit/logging";
import {
  ModelRegistryService,
  type RegisteredModel,
  RegisteredModelSchema,
} from "@seam/proto/seam/registry/v1/registry_pb";

/** What the backend saw of the last call, per method name. */
export interface Seen {
  headers: Headers;
  timeoutMs: number | undefined;
  /** The call's ctx.signal: aborted when the call was cancelled or timed out. */
  signal: AbortSignal;
}

export interface FakeRegistry {
  /** The handlers, to host on any server; the methods left out answer UNIMPLEMENTED. */
  readonly impl: Partial<ServiceImpl<typeof ModelRegistryService>>;
  /** The handlers behind an in-memory transport. */
  readonly transport: Transport;
  readonly seen: Map<string, Seen>;
  /** Resolves when a WatchEvents call's ctx.signal aborts. */
  readonly watchAborted: Promise<void>;
}

export function createFakeRegistry(): FakeRegistry {
  const models = new Map<string, RegisteredModel>();
  const seen = new Map<string, Seen>();
  let onWatchAborted: () => void = () => undefined;
  const watchAborted = new Promise<void>((resolve) => {
    onWatchAborted = resolve;
  });
  const record = (ctx: HandlerContext): void => {
    seen.set(ctx.method.name, {
      headers: new Headers(ctx.requestHeader),
      timeoutMs: ctx.timeoutMs(),
      signal: ctx.signal,
    });
  };

  const impl: Partial<ServiceImpl<typeof ModelRegistryService>> = {
    createModel(req, ctx) {
      record(ctx);
      if (models.has(req.name)) throw new ConnectError(`model ${req.name} exists`, Code.AlreadyExists);
      const model = create(RegisteredModelSchema, { name: req.name, description: req.description });
      models.set(req.name, model);
      ctx.responseHeader.set("x-seam-created", req.name);
      return { model };
    },
    getModel(req, ctx) {
      record(ctx);
      if (req.name === "") {
        // An error with details, to show they reach the caller intact.
        const error = new ConnectError("name is required", Code.InvalidArgument, { "x-seam-field": "name" });
        error.details.push({ desc: RegisteredModelSchema, value: { name: "example" } });
        throw error;
      }
      const model = models.get(req.name);
      if (model === undefined) {
        throw new ConnectError(`model ${req.name} not found`, Code.NotFound, { "x-seam-missing": req.name });
      }
      ctx.responseTrailer.set("x-seam-served-by", "fake");
      return { model };
    },
    listModels(req, ctx) {
      record(ctx);
      const names = [...models.keys()].filter((n) => n.startsWith(req.namePrefix)).sort();
      return { models: names.map((n) => models.get(n) as RegisteredModel) };
    },
    // Waits for its deadline or cancellation: the gateway must pass both on.
    async resolveModel(_req, ctx) {
      record(ctx);
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      throw ConnectError.from(ctx.signal.reason);
    },
    async uploadModelVersion(requests, ctx) {
      record(ctx);
      let modelName = "";
      let size = 0n;
      for await (const message of requests) {
        if (message.payload.case === "metadata") modelName = message.payload.value.modelName;
        if (message.payload.case === "chunk") size += BigInt(message.payload.value.length);
      }
      if (modelName === "") throw new ConnectError("metadata must come first", Code.InvalidArgument);
      return { version: { modelName, version: 1n, sizeBytes: size } };
    },
    async *downloadModelVersion(req, ctx) {
      record(ctx);
      yield { version: { modelName: req.model, version: 1n }, chunk: new Uint8Array([1, 2]) };
      yield { chunk: new Uint8Array([3]) };
      ctx.responseTrailer.set("x-seam-chunks", "2");
    },
    async *watchEvents(req, ctx) {
      record(ctx);
      ctx.signal.addEventListener("abort", () => onWatchAborted(), { once: true });
      yield { event: { modelName: req.modelName, kind: { case: "versionCreated", value: { version: 1n } } } };
      // Like the real stream: nothing more until the client goes away.
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
    },
  };
  const transport = createRouterTransport(({ service }) => {
    service(ModelRegistryService, impl);
  });
  return { impl, transport, seen, watchAborted };
}

/** A fake registry hosted on the kit's grpc-js server, and the kit's transport to it. */
export interface GrpcFakeRegistry {
  readonly registry: FakeRegistry;
  readonly transport: GrpcTransport;
  close(): Promise<void>;
}

/** The production shape of a gateway backend: the fake registry behind grpc-js, on a free port. */
export async function startGrpcFakeRegistry(logger: Logger): Promise<GrpcFakeRegistry> {
  const registry = createFakeRegistry();
  const server = createGrpcServer({ logger }).register(ModelRegistryService, registry.impl);
  const transport = createGrpcTransport({ address: `127.0.0.1:${await server.listen("127.0.0.1", 0)}` });
  return {
    registry,
    transport,
    async close() {
      transport.close();
      await server.shutdown(1_000);
    },
  };
}
