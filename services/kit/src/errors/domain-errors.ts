import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Base of the errors stores and services throw for expected failures.
 * The hosting adapter maps each to its gRPC status in one place
 * ({@link toConnectError}); anything else becomes INTERNAL with the cause
 * logged, never sent.
 */
export abstract class DomainError extends Error {
  abstract readonly code: Code;
}

/** The named thing does not exist (gRPC NOT_FOUND). */
export class NotFoundError extends DomainError {
  override readonly name = "NotFoundError";
  readonly code = Code.NotFound;
}

/** The thing to create exists already (gRPC ALREADY_EXISTS). */
export class AlreadyExistsError extends DomainError {
  override readonly name = "AlreadyExistsError";
  readonly code = Code.AlreadyExists;
}

/** The request is malformed whatever the system's state (gRPC INVALID_ARGUMENT). */
export class InvalidArgumentError extends DomainError {
  override readonly name = "InvalidArgumentError";
  readonly code = Code.InvalidArgument;
}

/** The system is not in a state that allows the operation (gRPC FAILED_PRECONDITION). */
export class FailedPreconditionError extends DomainError {
  override readonly name = "FailedPreconditionError";
  readonly code = Code.FailedPrecondition;
}

/** A concurrent change won; retrying the whole operation may succeed (gRPC ABORTED). */
export class ConflictError extends DomainError {
  override readonly name = "ConflictError";
  readonly code = Code.Aborted;
}

/** A size or capacity limit was hit (gRPC RESOURCE_EXHAUSTED). */
export class ResourceExhaustedError extends DomainError {
  override readonly name = "ResourceExhaustedError";
  readonly code = Code.ResourceExhausted;
}

/** Stored or received data is corrupt or does not match its checksum (gRPC DATA_LOSS). */
export class DataLossError extends DomainError {
  override readonly name = "DataLossError";
  readonly code = Code.DataLoss;
}

/**
 * Converts anything thrown by a handler into a ConnectError carrying the right code.
 * ConnectErrors pass through; DomainErrors keep their message; an AbortError from a
 * cancelled call becomes CANCELLED (or DEADLINE_EXCEEDED when the signal says so);
 * anything else becomes INTERNAL with a generic message — the caller must log the cause.
 */
export function toConnectError(err: unknown, signal?: AbortSignal): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) return new ConnectError(err.message, err.code);
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof ConnectError) return reason;
    return new ConnectError("the call was cancelled", Code.Canceled);
  }
  return new ConnectError("internal error", Code.Internal);
}

/** True when the error will be sent as INTERNAL, i.e. its cause must be logged. */
export function isUnexpectedError(err: unknown): boolean {
  return !(err instanceof ConnectError) && !(err instanceof DomainError);
}
