import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceDefinition } from "@grpc/grpc-js";

type Msg = MessageShape<DescMessage>;
type MsgInit = MessageInitShape<DescMessage>;

/**
 * A grpc-js method definition over protobuf-es messages: serializers accept init
 * objects (what handlers return and clients pass), deserializers yield messages.
 */
export interface ProtobufMethodDefinition {
  readonly path: string;
  readonly originalName: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: MsgInit) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => Msg;
  readonly responseSerialize: (value: MsgInit) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Msg;
}

/**
 * A hand-written encoder of one message type, for a hot method whose responses are large
 * enough that the generic, reflection-based `toBinary` dominates its cost. It receives what
 * the handler returned (an init object or a message) and must produce exactly the bytes
 * `toBinary(schema, create(schema, value))` would: test it against that.
 */
export type MessageEncoder = (value: MsgInit) => Uint8Array;

/** Hand-written response encoders by method local name (see {@link MessageEncoder}). */
export type ResponseEncoders = Readonly<Record<string, MessageEncoder>>;

function serializer(schema: DescMessage, encode?: MessageEncoder): (value: MsgInit) => Buffer {
  return (value) => {
    // Handlers and clients may pass init objects; create() returns real messages unchanged.
    const bytes = encode === undefined ? toBinary(schema, create(schema, value)) : encode(value);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMessage): (bytes: Buffer) => Msg {
  return (bytes) => fromBinary(schema, bytes);
}

/** The grpc-js method definitions of a service, keyed by the methods' local names. */
export function createProtobufMethodDefinitions(
  service: DescService,
  responseEncoders: ResponseEncoders = {},
): Record<string, ProtobufMethodDefinition> {
  for (const name of Object.keys(responseEncoders)) {
    if (!service.methods.some((m) => m.localName === name)) {
      throw new Error(`${service.typeName} has no method ${name} to take a response encoder`);
    }
  }
  const definitions: Record<string, ProtobufMethodDefinition> = {};
  for (const method of service.methods) {
    definitions[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.localName,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output, responseEncoders[method.localName]),
      responseDeserialize: deserializer(method.output),
    };
  }
  return definitions;
}

/**
 * Maps a protobuf-es service descriptor to a grpc-js service definition: path
 * `/${service.typeName}/${method.name}`, binary (de)serialization with the method's
 * schemas, streaming flags from `method.methodKind`. Keys are the methods' local
 * names, the same keys as a connect-es `ServiceImpl`.
 */
export function createGrpcServiceDefinition(
  service: DescService,
  responseEncoders: ResponseEncoders = {},
): ServiceDefinition {
  const definitions = createProtobufMethodDefinitions(service, responseEncoders);
  for (const method of service.methods) {
    const definition = definitions[method.localName] as ProtobufMethodDefinition;
    // The handlers take the stand-in for what it is (see decodedRequest).
    const requestDeserialize = tolerantDeserializer(method.input) as (bytes: Buffer) => Msg;
    definitions[method.localName] = { ...definition, requestDeserialize };
  }
  // grpc-js types a definition with one message type per direction; ours differ by shape only.
  return definitions as unknown as ServiceDefinition;
}

/**
 * Stands in for a request message whose bytes do not decode. grpc-js answers a throwing
 * deserializer with INTERNAL, but the fault is the caller's: the handlers answer this
 * with its INVALID_ARGUMENT instead (see {@link decodedRequest}).
 */
export class UndecodableRequest {
  constructor(readonly error: ConnectError) {}
}

function tolerantDeserializer(schema: DescMessage): (bytes: Buffer) => Msg | UndecodableRequest {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return new UndecodableRequest(
        new ConnectError(`request is not a valid ${schema.typeName}: ${reason}`, Code.InvalidArgument),
      );
    }
  };
}

/** The request message, or throws the INVALID_ARGUMENT of one that did not decode. */
export function decodedRequest<T>(request: T | UndecodableRequest): T {
  if (request instanceof UndecodableRequest) throw request.error;
  return request;
}
