/**
 * Step 8 of `seam demo`, tracing: prints the trace id of step 7's request and where to look
 * it up, since the suite exports spans only when it runs with an OTLP endpoint.
 */
import type { Output } from "../../output.js";
import { INDENT } from "../demo-format.js";
import { DemoError, type DemoState } from "./context.js";
import { printWrapped } from "./print.js";

/** Jaeger's UI as deploy/compose.yaml runs it. */
const JAEGER_UI = "http://localhost:16686";

/** Step 8: the last request's trace id and traceparent, and how to see its spans. */
export function printTrace(state: DemoState, out: Output): void {
  const trace = state.trace;
  if (trace === undefined) throw new DemoError("no request was traced");
  printWrapped(
    out,
    "The last request went in with a trace context of its own, so its spans (the gateway, the inference service, the feature store lookup, storage) form one trace under this id:",
  );
  out.line("");
  out.line(`${INDENT}trace id     ${trace.traceId}`);
  out.line(`${INDENT}traceparent  ${trace.traceparent}`);
  out.line("");
  out.line(`${INDENT}open Jaeger at ${JAEGER_UI}/trace/${trace.traceId} (deploy/compose.yaml),`);
  out.line(`${INDENT}or search for the trace id in any OTLP backend set with OTEL_EXPORTER_OTLP_ENDPOINT.`);
  out.line("");
  printWrapped(
    out,
    "Spans are exported only when the suite runs with an OTLP endpoint, e.g. (Jaeger takes OTLP/HTTP on port 4318):",
  );
  out.line(`${INDENT}$ OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npm start`);
}
