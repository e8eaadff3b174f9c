export {
  AlreadyExistsError,
  ConflictError,
  DataLossError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  isUnexpectedError,
  NotFoundError,
  ResourceExhaustedError,
  toConnectError,
} from "./domain-errors.js";
export { createDomainErrorInterceptor } from "./interceptor.js";
