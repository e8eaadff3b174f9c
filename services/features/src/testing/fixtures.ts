import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type ApplyDefinitionsRequestSchema,
  type EntitySchema,
  type FeatureValue,
  FeatureValueSchema,
  type FeatureViewSchema,
} from "@seam/proto/seam/features/v1/features_pb";

/** Hours in milliseconds. */
export const HOUR = 3600_000;

/** A driver-statistics source: driver_id, event_timestamp, conv_rate, trips. */
export const DRIVER_STATS_CSV = [
  "driver_id,event_timestamp,conv_rate,trips",
  "1,2024-05-01T10:00:00Z,0.1,1",
  "1,2024-05-01T11:00:00Z,0.2,2",
  "1,2024-05-01T11:00:00Z,0.25,3",
  "1,2024-05-01T12:00:00Z,0.3,",
  "2,2024-05-01T09:00:00Z,0.9,9",
  "",
].join("\n");

/** A driver profile source: driver_id, updated_at, city. */
export const DRIVER_PROFILE_CSV = [
  "driver_id,updated_at,city",
  "1,2024-01-01T00:00:00Z,Lyon",
  "2,2024-01-01T00:00:00Z,Oslo",
  "",
].join("\n");

/** The driver entity. */
export const DRIVER = {
  name: "driver",
  joinKeys: [{ name: "driver_id", type: ColumnType.INT64 }],
  description: "A driver",
} satisfies MessageInitShape<typeof EntitySchema>;

/** The driver_stats view over DRIVER_STATS_CSV, with a 2 hour max age. */
export const DRIVER_STATS = {
  name: "driver_stats",
  entities: ["driver"],
  features: [{ name: "conv_rate", type: ColumnType.FLOAT64 }, { name: "trips" }],
  source: { dataset: "driver_stats_src", timestampColumn: "event_timestamp" },
  ttl: durationFromMs(2 * HOUR),
} satisfies MessageInitShape<typeof FeatureViewSchema>;

/** The driver_profile view over DRIVER_PROFILE_CSV; never expires. */
export const DRIVER_PROFILE = {
  name: "driver_profile",
  entities: ["driver"],
  features: [{ name: "city", type: ColumnType.STRING }],
  source: { dataset: "driver_profile_src", timestampColumn: "updated_at" },
} satisfies MessageInitShape<typeof FeatureViewSchema>;

/** Everything above plus a feature service over both views. */
export const ALL_DEFINITIONS = {
  entities: [DRIVER],
  featureViews: [DRIVER_STATS, DRIVER_PROFILE],
  featureServices: [
    {
      name: "driver_ranking",
      features: [{ featureView: "driver_stats" }, { featureView: "driver_profile", features: ["city"] }],
    },
  ],
} satisfies MessageInitShape<typeof ApplyDefinitionsRequestSchema>;

/** A FeatureValue of a plain JS value (number → double, bigint → int64). */
export function value(v: number | bigint | string | boolean): FeatureValue {
  if (typeof v === "bigint") return create(FeatureValueSchema, { kind: { case: "int64Value", value: v } });
  if (typeof v === "number") return create(FeatureValueSchema, { kind: { case: "doubleValue", value: v } });
  if (typeof v === "string") return create(FeatureValueSchema, { kind: { case: "stringValue", value: v } });
  return create(FeatureValueSchema, { kind: { case: "boolValue", value: v } });
}

/** The plain value of a FeatureValue (undefined for null). */
export function plain(v: FeatureValue | undefined): unknown {
  return v?.kind.value;
}
