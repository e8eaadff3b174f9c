export { isCallOver } from "./internal/call-context.js";
export type { RawHeaders, RawUnaryCall, RawUnaryOptions, RawUnaryResult } from "./internal/raw-unary.js";
export {
  createReflectionPackageDefinition,
  createReflectionService,
  HEALTH_SERVICE_NAME,
} from "./reflection.js";
export { DEFAULT_RETRY_POLICY, isRetryableMethod, type RetryOptions, type RetryPolicy } from "./retry.js";
export {
  createGrpcServer,
  DEFAULT_FLOW_CONTROL_WINDOW_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type GrpcCallInfo,
  type GrpcServer,
  type GrpcServerContextValues,
  type GrpcServerOptions,
  type RegisterOptions,
  type ServingStatus,
} from "./server.js";
export {
  createGrpcServiceDefinition,
  type MessageEncoder,
  type ResponseEncoders,
} from "./service-definition.js";
export { installShutdownHandlers, type ShutdownHandlerOptions } from "./shutdown.js";
export { createGrpcTransport, type GrpcTransport, type GrpcTransportOptions } from "./transport.js";
