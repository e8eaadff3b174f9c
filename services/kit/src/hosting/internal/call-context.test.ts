import { Code, ConnectError } from "@connectrpc/connect";
import { EchoService } from "@seam/proto/seam/testing/v1/echo_pb";
import { describe, expect, it } from "vitest";
import { CallContext, isCallOver } from "./call-context.js";

function context(deadline = Number.POSITIVE_INFINITY): CallContext {
  return new CallContext({ method: EchoService.method.echo, url: "/x", metadata: undefined, deadline });
}

describe("CallContext", () => {
  it("hands out a signal already aborted, with the reason, when the call ended before it was read", () => {
    const ctx = context();
    const reason = new ConnectError("gone", Code.Canceled);
    ctx.abort(reason);
    expect(ctx.aborted).toBe(true);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe(reason);
  });

  it("aborts a signal that was read, once, with the first reason", () => {
    const ctx = context();
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    const first = new ConnectError("first", Code.Canceled);
    ctx.abort(first);
    ctx.abort(new ConnectError("second", Code.Canceled));
    expect(signal.reason).toBe(first);
  });

  it("aborts a signal read before the deadline with DEADLINE_EXCEEDED when it passes", async () => {
    const ctx = context(Date.now() + 50);
    expect(ctx.timeoutMs()).toBeGreaterThan(0);
    const reason = await new Promise<unknown>((resolve) =>
      ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason), { once: true }),
    );
    expect(reason).toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("calls abort listeners once with the reason, at once when already aborted, and not once removed", () => {
    const ctx = context();
    const heard: unknown[] = [];
    const kept = (reason: unknown) => heard.push(["kept", reason]);
    const removed = (reason: unknown) => heard.push(["removed", reason]);
    ctx.addAbortListener(kept);
    ctx.addAbortListener(removed);
    ctx.removeAbortListener(removed);
    const reason = new ConnectError("gone", Code.Canceled);
    ctx.abort(reason);
    ctx.abort(new ConnectError("again", Code.Canceled));
    ctx.addAbortListener((late) => heard.push(["late", late]));
    expect(heard).toEqual([
      ["kept", reason],
      ["late", reason],
    ]);
  });

  it("has no timeout without a deadline", () => {
    expect(context().timeoutMs()).toBeUndefined();
  });

  it("tells whether a call is over, for the kit's context and for any signal holder", () => {
    const ctx = context();
    expect(isCallOver(ctx)).toBe(false);
    ctx.abort(new ConnectError("gone", Code.Canceled));
    expect(isCallOver(ctx)).toBe(true);
    const controller = new AbortController();
    expect(isCallOver(controller)).toBe(false);
    controller.abort();
    expect(isCallOver(controller)).toBe(true);
  });

  it("ends a call: a listened-to signal aborts, an unheard one is dropped and reads back aborted", () => {
    const reason = new ConnectError("the call has finished", Code.Canceled);
    const heard = context();
    let aborts = 0;
    heard.signal.addEventListener("abort", () => aborts++);
    heard.finish(reason);
    expect(aborts).toBe(1);
    expect(heard.signal.reason).toBe(reason);

    const unheard = context();
    expect(unheard.signal.aborted).toBe(false);
    unheard.finish(reason);
    expect(unheard.aborted).toBe(true);
    expect(unheard.signal.aborted).toBe(true);
    expect(unheard.signal.reason).toBe(reason);
  });
});
