import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { FailedPreconditionError, InvalidArgumentError } from "@seam/kit/errors";
import { withSpan } from "@seam/kit/telemetry";
import {
  type FeatureStoreService,
  type FeatureValue,
  FeatureStatus as StoreStatus,
} from "@seam/proto/seam/features/v1/features_pb";
import {
  type EntityFeatures,
  EntityFeaturesSchema,
  type EntityKey,
  FeatureStatus,
  MissingFeaturePolicy,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { allocateElements, type TensorData } from "../tensors/tensor-data.js";
import type { TensorSpec } from "../tensors/validate.js";

/** Most entities in one request (the feature store's own limit per lookup). */
export const MAX_ENTITIES = 1000;

/** Online features as the inference service reads them: one batched call per request. */
export type FeatureLookup = Pick<Client<typeof FeatureStoreService>, "getOnlineFeatures">;

/** The model inputs built from the online features, and what was used per entity. */
export interface EntityInputs {
  readonly tensors: TensorData[];
  readonly features: EntityFeatures[];
}

/**
 * Builds a model's inputs from the online features of its feature service: one
 * GetOnlineFeatures call for every entity, then each model input (shape [N, 1] or [N])
 * takes the feature of the same name ("view:feature", or "view__feature" as full feature
 * names are written in training data) in the signature's order. A value that is not
 * PRESENT is refused with FAILED_PRECONDITION (policy reject) or fed as missing — NaN for
 * numbers, "" for strings — (policy impute); either way its status is reported.
 */
export async function entityInputs(
  entities: readonly EntityKey[],
  featureService: string,
  inputs: readonly TensorSpec[],
  policy: MissingFeaturePolicy.REJECT | MissingFeaturePolicy.IMPUTE,
  lookup: FeatureLookup,
  signal?: AbortSignal,
): Promise<EntityInputs> {
  if (entities.length > MAX_ENTITIES) {
    throw new InvalidArgumentError(`entities: at most ${MAX_ENTITIES} per request, got ${entities.length}`);
  }
  for (const spec of inputs) {
    if (spec.dims.length > 2 || (spec.dims.length === 2 && spec.dims[1] !== 1)) {
      throw new FailedPreconditionError(
        `input "${spec.name}" has shape [${spec.dims.join(", ")}]; predicting by entity key needs inputs of one feature per row ([N, 1])`,
      );
    }
  }
  const response = await withSpan(
    "inference.feature_lookup",
    { "seam.feature_service": featureService, "seam.entities": entities.length },
    () =>
      lookup.getOnlineFeatures(
        {
          selection: { case: "featureService", value: featureService },
          entities: entities.map((e) => ({ joinKeys: e.joinKeys })),
        },
        signal === undefined ? {} : { signal },
      ),
  ).catch((error: unknown) => {
    // NOT_FOUND on Predict means "no such model"; a binding to a service that is gone is
    // a state problem of the model version.
    const failure = ConnectError.from(error);
    if (failure.code !== Code.NotFound) throw error;
    throw new FailedPreconditionError(
      `the model is bound to feature service ${featureService}, which the feature store does not know: ${failure.rawMessage}`,
    );
  });
  const columns = inputs.map((spec) => {
    const matches = response.featureNames.flatMap((ref, i) => (featureMatches(ref, spec.name) ? [i] : []));
    if (matches.length !== 1) {
      throw new FailedPreconditionError(
        matches.length === 0
          ? `model input "${spec.name}" is not a feature of feature service ${featureService} (it has ${response.featureNames.join(", ")})`
          : `model input "${spec.name}" matches several features of feature service ${featureService} (${matches.map((i) => response.featureNames[i]).join(", ")}); name the input view__feature`,
      );
    }
    return matches[0] as number;
  });
  const n = entities.length;
  const tensors = inputs.map((spec) => ({
    name: spec.name,
    type: spec.type,
    dims: spec.dims.length === 1 ? [n] : [n, 1],
    data: allocateElements(spec.type, n),
  }));
  const features = response.rows.map((row, r) =>
    create(EntityFeaturesSchema, {
      features: inputs.map((spec, i) => {
        const index = columns[i] as number;
        const value = row.values[index];
        const status = (value?.status ?? StoreStatus.NOT_FOUND) as number as FeatureStatus;
        const present = status === FeatureStatus.PRESENT;
        const feature = response.featureNames[index] as string;
        if (!present && policy === MissingFeaturePolicy.REJECT) {
          throw new FailedPreconditionError(
            `entity ${describeEntity(entities[r])}: feature ${feature} is ${FeatureStatus[status]}; the model's missing-feature policy is reject (send missing_features IMPUTE to feed it as missing)`,
          );
        }
        const tensor = tensors[i] as TensorData;
        setElement(tensor, r, present ? value?.value : undefined, spec.name);
        return {
          input: spec.name,
          feature,
          status,
          imputed: !present,
          ...(value?.eventTime === undefined ? {} : { eventTime: value.eventTime }),
        };
      }),
    }),
  );
  if (features.length !== n)
    throw new Error(`the feature store answered ${features.length} rows for ${n} entities`);
  return { tensors, features };
}

/** "view:feature" or "view__feature" names the input `name`. */
function featureMatches(ref: string, name: string): boolean {
  const colon = ref.indexOf(":");
  const view = ref.slice(0, colon);
  const feature = ref.slice(colon + 1);
  return feature === name || `${view}__${feature}` === name;
}

function describeEntity(entity: EntityKey | undefined): string {
  return Object.entries(entity?.joinKeys ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** Writes one feature value into row `r`; undefined means missing (imputed). */
function setElement(tensor: TensorData, r: number, value: FeatureValue | undefined, input: string): void {
  const kind = value === undefined || value.kind.case === undefined ? undefined : value.kind;
  switch (tensor.type) {
    case "float32":
    case "float64": {
      const data = tensor.data as Float32Array | Float64Array;
      data[r] = kind === undefined ? Number.NaN : numberOf(kind, input);
      return;
    }
    case "int32":
      (tensor.data as Int32Array)[r] = kind === undefined ? 0 : numberOf(kind, input);
      return;
    case "int64":
      (tensor.data as BigInt64Array)[r] =
        kind?.case === "int64Value"
          ? kind.value
          : BigInt(Math.trunc(kind === undefined ? 0 : numberOf(kind, input)));
      return;
    case "bool":
      (tensor.data as Uint8Array)[r] = kind?.case === "boolValue" && kind.value ? 1 : 0;
      return;
    case "string":
      (tensor.data as string[])[r] =
        kind === undefined ? "" : kind.case === "stringValue" ? kind.value : String(kind.value);
      return;
  }
}

function numberOf(kind: NonNullable<FeatureValue["kind"]>, input: string): number {
  switch (kind.case) {
    case "doubleValue":
      return kind.value;
    case "int64Value":
      return Number(kind.value);
    case "boolValue":
      return kind.value ? 1 : 0;
    case "timestampValue":
      return timestampDate(kind.value).getTime();
    case "stringValue":
      throw new FailedPreconditionError(`model input "${input}" is numeric but its feature holds strings`);
    case undefined:
      return Number.NaN;
  }
}
