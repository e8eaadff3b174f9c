import { trace } from "@opentelemetry/api";
import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The service name, the same as OTEL_SERVICE_NAME. */
  readonly service: string;
  readonly level?: string;
  /** Where to write; stdout by default (tests pass a stream to read lines back). */
  readonly destination?: NodeJS.WritableStream;
}

// Keys whose values must never reach a log line, wherever they are nested.
const REDACTED_PATHS = [
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "redisUrl",
  "*.redisUrl",
];

/**
 * The one root logger of a process: pino JSON lines carrying trace_id and
 * span_id of the active OpenTelemetry span, with secrets redacted.
 * Make children per call with `logger.child({ rpc })`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    name: options.service,
    level: options.level ?? "info",
    base: { service: options.service },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    mixin() {
      const span = trace.getActiveSpan();
      if (span === undefined) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}
