import { type Meter, type MeterProvider, metrics } from "@opentelemetry/api";

/**
 * Lazily created instruments of one meter: `create` runs on the first call and again
 * whenever the global MeterProvider has changed since, so instruments made before the
 * process started its SDK do not stay no-ops. Depends only on @opentelemetry/api: with
 * no SDK registered every instrument is the API's no-op. For code off the hot path;
 * a per-call path decides once, when it is built (see {@link createRpcServerMetrics}).
 *
 * ```ts
 * const otel = createInstruments("@seam/features", (meter) => ({
 *   lookups: meter.createCounter("seam.features.lookups"),
 * }));
 * otel().lookups.add(1);
 * ```
 */
export function createInstruments<T>(meterName: string, create: (meter: Meter) => T): () => T {
  let provider: MeterProvider | undefined;
  let instruments: T | undefined;
  return () => {
    const current = metrics.getMeterProvider();
    if (instruments === undefined || current !== provider) {
      provider = current;
      instruments = create(current.getMeter(meterName));
    }
    return instruments;
  };
}
