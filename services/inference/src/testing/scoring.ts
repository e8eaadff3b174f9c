import type { MessageInitShape } from "@bufbuild/protobuf";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ApplyDefinitionsRequestSchema } from "@seam/proto/seam/features/v1/features_pb";

/**
 * Feature definitions the string-feature model ({@link buildStringFeatureModel}) is served
 * with by entity key: entity `customer` (join key `customer_id`, int64), feature view
 * `customer_stats` (`amount` float64, `country` string) over the dataset `customer_src`
 * (event time `event_timestamp`, no max age), and the feature service `scoring`.
 */
export const SCORING_DEFINITIONS = {
  entities: [{ name: "customer", joinKeys: [{ name: "customer_id", type: ColumnType.INT64 }] }],
  featureViews: [
    {
      name: "customer_stats",
      entities: ["customer"],
      features: [
        { name: "amount", type: ColumnType.FLOAT64 },
        { name: "country", type: ColumnType.STRING },
      ],
      source: { dataset: "customer_src", timestampColumn: "event_timestamp" },
    },
  ],
  featureServices: [{ name: "scoring", features: [{ featureView: "customer_stats" }] }],
} satisfies MessageInitShape<typeof ApplyDefinitionsRequestSchema>;

/** What the string-feature model answers: amount × 2, plus 1 when country is "NL". */
export function stringFeatureScore(amount: number, country: string): number {
  return amount * 2 + (country === "NL" ? 1 : 0);
}
