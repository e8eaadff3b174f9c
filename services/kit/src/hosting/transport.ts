import {
  create,
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { getAbortSignalReason } from "@connectrpc/connect/protocol";
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  status as grpcStatus,
  type Metadata,
  type ServiceError,
  type StatusObject,
} from "@grpc/grpc-js";
import { readMessages, sleep } from "./internal/async.js";
import { headersFromMetadata, metadataFromHeaders } from "./internal/metadata.js";
import { createRawUnaryCall, type RawUnaryCall } from "./internal/raw-unary.js";
import { connectErrorFromGrpcStatus, isGrpcStatusLike } from "./internal/status.js";
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  isRetryableError,
  isRetryableMethod,
  type RetryOptions,
} from "./retry.js";
import { DEFAULT_FLOW_CONTROL_WINDOW_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from "./server.js";
import { createProtobufMethodDefinitions, type ProtobufMethodDefinition } from "./service-definition.js";

type Msg = MessageShape<DescMessage>;
type MsgInit = MessageInitShape<DescMessage>;
// The DOM lib is off; this is the global HeadersInit Node's Headers accepts.
type HeadersInitLike = ConstructorParameters<typeof Headers>[0];

/** Options of {@link createGrpcTransport}. Durations in milliseconds. */
export interface GrpcTransportOptions {
  /** A grpc-js target: "host:port", "dns:///name:port", "unix:///path", ... */
  readonly address: string;
  /**
   * Deadline of unary calls made without `timeoutMs`. Default 30 s. Streaming calls
   * never get a default: a WatchEvents stream is meant to stay open.
   */
  readonly defaultTimeoutMs?: number;
  /** Largest response message accepted; larger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest request message sent. Default 4 MiB. */
  readonly maxSendMessageBytes?: number;
  /**
   * Retry of unary calls to methods the proto marks NO_SIDE_EFFECTS or IDEMPOTENT,
   * on UNAVAILABLE only, within the call's deadline. `false` turns it off.
   */
  readonly retry?: RetryOptions | false;
  /** Interval of keepalive pings (`grpc.keepalive_time_ms`). Default 30 s. */
  readonly keepaliveTimeMs?: number;
  /** How long a ping may go unanswered before the connection is dropped. Default 10 s. */
  readonly keepaliveTimeoutMs?: number;
  /** Ping idle connections too, so a dead peer is found before the next call. Default true. */
  readonly keepalivePermitWithoutCalls?: boolean;
  /** Default round_robin, so a DNS name of many replicas spreads calls over all of them. */
  readonly loadBalancing?: "round_robin" | "pick_first";
  /** Default insecure (in-cluster plaintext; mTLS belongs to the mesh). */
  readonly credentials?: ChannelCredentials;
  /** Raw grpc-js channel options, applied last (escape hatch). */
  readonly channelOptions?: ChannelOptions;
}

/**
 * A connect-es Transport over one grpc-js channel; `close()` closes the channel.
 * `unaryBytes` forwards an already-serialized request on the same channel (for proxies).
 */
export type GrpcTransport = Transport & { close(): void; readonly unaryBytes: RawUnaryCall };

function abortError(signal: AbortSignal): ConnectError {
  return ConnectError.from(getAbortSignalReason(signal), Code.Canceled);
}

/** Maps a grpc-js failure to a ConnectError; a call the caller aborted reports the abort. */
function toClientError(err: unknown, signal: AbortSignal | undefined): ConnectError {
  if (signal?.aborted === true) return abortError(signal);
  if (isGrpcStatusLike(err)) return connectErrorFromGrpcStatus(err);
  return ConnectError.from(err);
}

function deadlineFrom(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
}

/** Resolves with the final status of any grpc-js client call. */
function statusOf(call: { once(event: "status", listener: (status: StatusObject) => void): unknown }) {
  return new Promise<StatusObject>((resolve) => call.once("status", resolve));
}

/**
 * Creates a connect-es Transport that speaks gRPC through grpc-js, so typed clients
 * are `createClient(SomeService, transport)`. Supports all four method kinds;
 * request headers travel as metadata, response headers/trailers come back as
 * Headers; `signal` cancels the call and `timeoutMs` becomes the gRPC deadline.
 * grpc-js failures become ConnectErrors with the same code, message, metadata and
 * error details.
 */
export function createGrpcTransport(options: GrpcTransportOptions): GrpcTransport {
  const client = new Client(options.address, options.credentials ?? credentials.createInsecure(), {
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.keepalive_time_ms": options.keepaliveTimeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? 10_000,
    "grpc.keepalive_permit_without_calls": (options.keepalivePermitWithoutCalls ?? true) ? 1 : 0,
    // No channelz service is registered, so its per-call bookkeeping would go unread.
    "grpc.enable_channelz": 0,
    // The window kit servers open too (HTTP/2's 64 KiB starves streamed downloads).
    "grpc-node.flow_control_window": DEFAULT_FLOW_CONTROL_WINDOW_BYTES,
    "grpc.service_config": JSON.stringify({
      loadBalancingConfig: [{ [options.loadBalancing ?? "round_robin"]: {} }],
    }),
    ...options.channelOptions,
  });
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const retry = options.retry === false ? undefined : { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const definitions = new WeakMap<DescService, Record<string, ProtobufMethodDefinition>>();

  function definitionOf(method: { parent: DescService; localName: string }): ProtobufMethodDefinition {
    let service = definitions.get(method.parent);
    if (service === undefined) {
      service = createProtobufMethodDefinitions(method.parent);
      definitions.set(method.parent, service);
    }
    const definition = service[method.localName];
    if (definition === undefined) throw new ConnectError(`unknown method ${method.localName}`, Code.Internal);
    return definition;
  }

  function unaryOnce(
    definition: ProtobufMethodDefinition,
    signal: AbortSignal | undefined,
    deadline: number,
    metadata: Metadata,
    input: Msg,
  ): Promise<{ header: Headers; trailer: Headers; message: Msg }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abortError(signal));
        return;
      }
      let header = new Headers();
      let outcome: { err: ServiceError | null; value: Msg | undefined } | undefined;
      const call = client.makeUnaryRequest<MsgInit, Msg>(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        input,
        // grpc-js may mutate metadata it sends; every attempt gets its own copy.
        metadata.clone(),
        { deadline },
        (err, value) => {
          outcome = { err, value };
        },
      );
      const onAbort = (): void => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      call.on("metadata", (md: Metadata) => {
        header = headersFromMetadata(md);
      });
      // grpc-js emits 'status' right after the callback, with the trailers of a success too.
      call.once("status", (status: StatusObject) => {
        signal?.removeEventListener("abort", onAbort);
        if (outcome?.err != null) reject(toClientError(outcome.err, signal));
        else if (outcome?.value === undefined) reject(toClientError(status, signal));
        else resolve({ header, trailer: headersFromMetadata(status.metadata), message: outcome.value });
      });
    });
  }

  async function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInitLike | undefined,
    input: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    const definition = definitionOf(method);
    // One deadline for all attempts: retries never stretch what the caller allowed.
    const deadline = deadlineFrom(timeoutMs ?? defaultTimeoutMs);
    const metadata = metadataFromHeaders(new Headers(header));
    const request = create(method.input, input) as Msg;
    const policy = retry !== undefined && isRetryableMethod(method) ? retry : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await unaryOnce(definition, signal, deadline, metadata, request);
        return {
          stream: false,
          service: method.parent,
          method,
          header: result.header,
          trailer: result.trailer,
          message: result.message as MessageShape<O>,
        };
      } catch (err) {
        if (policy === undefined || attempt >= policy.maxAttempts || !isRetryableError(err)) throw err;
        const delay = backoffMs(policy, attempt);
        if (Date.now() + delay >= deadline) throw err;
        try {
          await sleep(delay, signal);
        } catch {
          throw abortError(signal as AbortSignal);
        }
      }
    }
  }

  async function stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInitLike | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
  ): Promise<StreamResponse<I, O>> {
    if (signal?.aborted === true) throw abortError(signal);
    const definition = definitionOf(method);
    const metadata = metadataFromHeaders(new Headers(header));
    const callOptions: CallOptions = { deadline: deadlineFrom(timeoutMs) };
    let call: ClientReadableStream<Msg> | ClientWritableStream<MsgInit> | ClientDuplexStream<MsgInit, Msg>;
    let single: Promise<Msg | undefined> | undefined;
    switch (method.methodKind) {
      case "server_streaming": {
        const request = await firstMessage(input);
        call = client.makeServerStreamRequest<MsgInit, Msg>(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          request,
          metadata,
          callOptions,
        );
        break;
      }
      case "client_streaming": {
        let settle: (value: Msg | undefined) => void = () => {};
        single = new Promise((resolve) => (settle = resolve));
        call = client.makeClientStreamRequest<MsgInit, Msg>(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          metadata,
          callOptions,
          // Failures arrive through 'status' as well; only the message matters here.
          (_err, value) => settle(value),
        );
        break;
      }
      case "bidi_streaming":
        call = client.makeBidiStreamRequest<MsgInit, Msg>(
          definition.path,
          definition.requestSerialize,
          definition.responseDeserialize,
          metadata,
          callOptions,
        );
        break;
    }
    // grpc-js emits 'error' on the call stream for a failed status; the status is handled below.
    call.on("error", () => {});
    const status = statusOf(call);
    let finished = false;
    void status.then(() => {
      finished = true;
      signal?.removeEventListener("abort", onAbort);
    });
    const onAbort = (): void => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });

    let inputError: unknown;
    if (method.methodKind !== "server_streaming") {
      void pumpRequests(input, call as ClientWritableStream<MsgInit>, () => finished).catch(
        (err: unknown) => {
          inputError = err;
          call.cancel();
        },
      );
    }

    const fail = (s: StatusObject): ConnectError =>
      inputError !== undefined && s.code === grpcStatus.CANCELLED
        ? ConnectError.from(inputError)
        : toClientError(s, signal);

    // Like connect's own gRPC transport, resolve once response headers arrive, or fail
    // with the status of a trailers-only answer.
    const responseHeader = await new Promise<Headers>((resolve, reject) => {
      call.once("metadata", (md: Metadata) => resolve(headersFromMetadata(md)));
      void status.then((s) => (s.code === grpcStatus.OK ? resolve(new Headers()) : reject(fail(s))));
    });
    const trailer = new Headers();
    // Fills the trailers and throws the call's error, if any, once the status is in.
    const settle = async (): Promise<void> => {
      const s = await status;
      for (const [key, value] of headersFromMetadata(s.metadata)) trailer.append(key, value);
      if (s.code !== grpcStatus.OK) throw fail(s);
    };

    async function* responses(): AsyncGenerator<MessageShape<O>> {
      try {
        if (single !== undefined) {
          const message = await single;
          await settle();
          if (message !== undefined) yield message as MessageShape<O>;
          return;
        }
        try {
          for await (const message of readMessages<Msg>(call)) yield message as MessageShape<O>;
        } catch {
          // The stream fails with the same status that 'status' reports below.
        }
        await settle();
      } finally {
        // The consumer stopped early: release the call on the server too.
        if (!finished) call.cancel();
      }
    }

    return {
      stream: true,
      service: method.parent,
      method,
      header: responseHeader,
      trailer,
      message: responses(),
    };
  }

  return {
    unary,
    stream,
    unaryBytes: createRawUnaryCall(client, retry),
    close: () => client.close(),
  };
}

async function firstMessage<T>(input: AsyncIterable<T>): Promise<T> {
  for await (const message of input) return message;
  throw new ConnectError("protocol error: missing request message", Code.InvalidArgument);
}

/** Writes the request stream with backpressure, then half-closes; stops once the call has ended. */
async function pumpRequests(
  input: AsyncIterable<MsgInit>,
  call: ClientWritableStream<MsgInit>,
  finished: () => boolean,
): Promise<void> {
  for await (const message of input) {
    if (finished()) return;
    if (!call.write(message)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.removeListener("drain", done);
          call.removeListener("status", done);
          resolve();
        };
        call.once("drain", done);
        call.once("status", done);
      });
    }
  }
  if (!finished()) call.end();
}
