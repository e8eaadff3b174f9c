import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { isUnexpectedError, NotFoundError, toConnectError } from "./domain-errors.js";

describe("toConnectError", () => {
  it("keeps a domain error's message and maps its code", () => {
    const err = toConnectError(new NotFoundError('model "x" not found'));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe('model "x" not found');
  });

  it("hides the message of an unexpected error behind INTERNAL", () => {
    const cause = new Error("db password is hunter2");
    const err = toConnectError(cause);
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).not.toContain("hunter2");
    expect(isUnexpectedError(cause)).toBe(true);
  });

  it("passes ConnectErrors through and reports a cancelled call as CANCELLED", () => {
    const original = new ConnectError("bad", Code.InvalidArgument);
    expect(toConnectError(original)).toBe(original);
    const controller = new AbortController();
    controller.abort();
    expect(toConnectError(new Error("aborted"), controller.signal).code).toBe(Code.Canceled);
  });
});
