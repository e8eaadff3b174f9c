import { InvalidArgumentError } from "@seam/kit/errors";
import { expect } from "vitest";

/** Asserts that `fn` throws INVALID_ARGUMENT with a message containing every one of `parts`. */
export function expectInvalid(fn: () => unknown, ...parts: string[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  for (const part of parts) expect((thrown as Error).message).toContain(part);
}
