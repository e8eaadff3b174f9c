import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

/** Client retry policy: exponential backoff with full jitter. Durations in milliseconds. */
export interface RetryOptions {
  /** Attempts in total, the first one included. Default 4. */
  readonly maxAttempts?: number;
  /** Upper bound of the first backoff. Default 100. */
  readonly initialBackoffMs?: number;
  /** Upper bound of any backoff. Default 2 000. */
  readonly maxBackoffMs?: number;
  /** Growth of the bound per attempt. Default 2. */
  readonly backoffMultiplier?: number;
}

/** The resolved policy. */
export type RetryPolicy = Required<RetryOptions>;

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  backoffMultiplier: 2,
};

/**
 * True when the proto declares the method safe to repeat
 * (`option idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`).
 */
export function isRetryableMethod(method: DescMethod): boolean {
  return (
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
    method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
  );
}

/**
 * True when a failed attempt may be repeated: only UNAVAILABLE (the server never
 * processed the call, or is going away) is worth another try.
 */
export function isRetryableError(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unavailable;
}

/** Backoff before attempt `attempt + 1` (attempt counts from 1): full jitter under an exponential bound. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const bound = Math.min(
    policy.maxBackoffMs,
    policy.initialBackoffMs * policy.backoffMultiplier ** (attempt - 1),
  );
  return Math.random() * bound;
}
