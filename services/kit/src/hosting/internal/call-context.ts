import { getEventListeners } from "node:events";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type { Metadata } from "@grpc/grpc-js";
import { headersFromMetadata } from "./metadata.js";

/** What a call's context is made from. */
export interface CallContextInit {
  readonly method: DescMethod;
  /** `/package.Service/Method`. */
  readonly url: string;
  readonly metadata: Metadata | null | undefined;
  /** Epoch milliseconds of the call's deadline; Infinity without one. */
  readonly deadline: number;
  readonly values?: ContextValues;
  /** The request headers, when the caller already converted them. */
  readonly requestHeader?: Headers;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const DEADLINE_EXCEEDED = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);

/**
 * The HandlerContext of one call hosted on grpc-js: connect-es' `createHandlerContext`
 * semantics at a fraction of its per-call cost, which profiling of a constant-answer
 * handler showed as the kit's largest share: at most one AbortController (not a deadline
 * controller plus a controller linked to the server's shutdown signal, with six listener
 * changes), and the signal, its deadline timer, the request and response headers,
 * trailers and context values built only when something reads them: most unary
 * handlers never touch `ctx.signal`. grpc-js cancels a call at its deadline by itself
 * (see `abort`); the timer makes a signal read before then abort on time as well.
 * The server aborts it on forced shutdown; the call's end aborts it too.
 */
export class CallContext implements HandlerContext {
  readonly method: DescMethod;
  readonly service: DescService;
  readonly url: string;
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly timeoutMs: () => number | undefined;
  readonly #deadline: number;
  readonly #metadata: Metadata | null | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  // Set by abort(), which may come before anything asked for the signal.
  #aborted = false;
  #abortReason: unknown;
  #abortListeners: Array<(reason: unknown) => void> | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;

  constructor(init: CallContextInit) {
    this.method = init.method;
    this.service = init.method.parent;
    this.url = init.url;
    this.#metadata = init.metadata;
    this.#values = init.values;
    this.#requestHeader = init.requestHeader;
    const deadline = init.deadline;
    this.#deadline = deadline;
    this.timeoutMs = Number.isFinite(deadline) ? () => deadline - Date.now() : () => undefined;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
      else this.#startDeadlineTimer();
    }
    return this.#controller.signal;
  }

  /**
   * Calls `listener` once, with the reason, when the call is cancelled, times out (as
   * grpc-js reports it) or ends; at once if that happened already. Unlike listening to
   * `signal`, this builds no AbortSignal, deadline timer or event: for code that holds
   * many calls at once, such as a queue of requests waiting for a batch, where those
   * measured as a large share of a queued call's cost.
   */
  addAbortListener(listener: (reason: unknown) => void): void {
    if (this.#aborted) {
      listener(this.#abortReason);
      return;
    }
    this.#abortListeners ??= [];
    this.#abortListeners.push(listener);
  }

  /** Stops calling a listener given to {@link addAbortListener}. */
  removeAbortListener(listener: (reason: unknown) => void): void {
    const listeners = this.#abortListeners;
    const index = listeners?.indexOf(listener) ?? -1;
    if (index >= 0) listeners?.splice(index, 1);
  }

  /** True once the call was cancelled, timed out or ended (without building the signal). */
  get aborted(): boolean {
    return this.#aborted;
  }

  #startDeadlineTimer(): void {
    if (!Number.isFinite(this.#deadline)) return;
    const remaining = Math.max(0, this.#deadline - Date.now());
    // Beyond setTimeout's range (~24.8 days) grpc-js' own deadline cancels the call.
    if (remaining > MAX_TIMER_MS) return;
    this.#timer = setTimeout(() => this.abort(DEADLINE_EXCEEDED()), remaining);
    this.#timer.unref();
  }

  get requestHeader(): Headers {
    this.#requestHeader ??= headersFromMetadata(this.#metadata);
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    this.#responseHeader ??= new Headers();
    return this.#responseHeader;
  }

  get responseTrailer(): Headers {
    this.#responseTrailer ??= new Headers();
    return this.#responseTrailer;
  }

  get values(): ContextValues {
    this.#values ??= createContextValues();
    return this.#values;
  }

  /** Response headers if a handler touched them (undefined: nothing to send). */
  get responseHeaderIfAny(): Headers | undefined {
    return this.#responseHeader;
  }

  /** Response trailers if a handler touched them. */
  get responseTrailerIfAny(): Headers | undefined {
    return this.#responseTrailer;
  }

  /**
   * Ends the call: aborts its signal like {@link abort}, so whatever still listens lets go,
   * except when nothing listens. Then the abort event (an Event built and dispatched to
   * no one, the larger part of a queued prediction's cost at concurrency 64) is skipped
   * and the signal dropped instead: a later read of `ctx.signal` builds an aborted one.
   */
  finish(reason: unknown): void {
    const controller = this.#controller;
    if (controller !== undefined && getEventListeners(controller.signal, "abort").length === 0) {
      this.#controller = undefined;
    }
    this.abort(reason);
  }

  /** Aborts the signal (once, now or when first read) and stops the deadline timer. */
  abort(reason: unknown): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#abortListeners;
    this.#abortListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(reason);
  }
}

/**
 * True once a call was cancelled, timed out or ended. A context that can tell without
 * its signal (the kit's CallContext: `aborted`) is asked that way, since reading a
 * kit-hosted call's signal builds it; any other context answers from its signal.
 */
export function isCallOver(call: { readonly signal: AbortSignal; readonly aborted?: boolean }): boolean {
  return typeof call.aborted === "boolean" ? call.aborted : call.signal.aborted;
}
