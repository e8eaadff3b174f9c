import { createInstruments } from "@seam/kit/telemetry";
import { FeatureStatus } from "@seam/proto/seam/features/v1/features_pb";
import type { Selection } from "../definitions/catalog.js";

const otel = createInstruments("@seam/features", (meter) => ({
  lookups: meter.createCounter("seam.features.lookups", {
    description: "Online feature lookups (GetOnlineFeatures calls) answered",
  }),
  values: meter.createCounter("seam.features.values", {
    description: "Feature values returned by online lookups, by feature view and status",
    unit: "{value}",
  }),
}));

/** Metric attribute values of each FeatureStatus, indexed by its number. */
const STATUS_NAMES: Record<FeatureStatus, string> = {
  [FeatureStatus.UNSPECIFIED]: "unspecified",
  [FeatureStatus.PRESENT]: "present",
  [FeatureStatus.NOT_FOUND]: "not_found",
  [FeatureStatus.NULL_VALUE]: "null_value",
  [FeatureStatus.OUTSIDE_MAX_AGE]: "outside_max_age",
};
const STATUSES = Object.keys(STATUS_NAMES).length;

/**
 * The values of one lookup counted per selected part (feature view) and status, then
 * recorded as `seam.features.values` (attributes `seam.feature_view`, `seam.feature.status`)
 * with one `seam.features.lookups`. Counting is a few integer increments per value; the
 * metric calls are one per view and status seen.
 */
export class LookupTally {
  readonly #counts: Uint32Array;

  constructor(private readonly selection: Selection) {
    this.#counts = new Uint32Array(selection.parts.length * STATUSES);
  }

  /** `count` values of part `part` came back with `status`. */
  add(part: number, status: FeatureStatus, count = 1): void {
    this.#counts[part * STATUSES + status] = (this.#counts[part * STATUSES + status] ?? 0) + count;
  }

  /** Records the lookup. */
  record(): void {
    const { lookups, values } = otel();
    lookups.add(1);
    this.selection.parts.forEach((part, p) => {
      for (let status = 0; status < STATUSES; status++) {
        const count = this.#counts[p * STATUSES + status] ?? 0;
        if (count > 0) {
          values.add(count, {
            "seam.feature_view": part.view.name,
            "seam.feature.status": STATUS_NAMES[status as FeatureStatus],
          });
        }
      }
    });
  }
}
