/**
 * What the steps of `seam demo` share: the terminal, the clients of the gateway's services,
 * what earlier steps found out for later ones, the files the printed commands read, and the
 * error that stops the demo with a message that explains itself.
 */
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { GRPCInferenceService } from "@seam/proto/inference/grpc_predict_v2_pb";
import { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { InferenceService } from "@seam/proto/seam/inference/v1/inference_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { type Job, TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import type { Output } from "../../output.js";
import type { ChurnData } from "../demo-data.js";
import type { TraceContext } from "../demo-format.js";

/** How `seam demo` talks to the terminal. */
export interface DemoIo {
  /** The story: steps, results, commands. */
  readonly out: Output;
  /** Why it stopped, when it fails. */
  readonly err: { write(text: string): unknown };
  /** Aborted on Ctrl-C: a training job being followed is cancelled. */
  readonly interrupt?: AbortSignal;
}

/** A failure of the demo that is explained by its message alone. */
export class DemoError extends Error {
  override readonly name = "DemoError";
}

/** Seed of the generated customer data: fixed, so a second run uploads the same versions. */
export const DATA_SEED = 42;

/** Files of the demo's data, as the printed commands name them (and `--save` writes them). */
export const FILES = {
  iris: "iris.csv",
  customers: "customers.csv",
  transactions: "transactions.csv",
  activity: "customer-activity.csv",
  labels: "churn-labels.csv",
  features: "features.yaml",
} as const;

/** Training epochs of the two models. */
export interface Epochs {
  readonly iris: number;
  readonly churn: number;
}

/** What the steps found out, for the steps after them. */
export interface DemoState {
  readonly gatewayUrl: string;
  readonly data: ChurnData;
  readonly epochs: Epochs;
  irisJob?: Job;
  churnJob?: Job;
  trace?: TraceContext;
}

/** Clients of every service the demo calls, all through the gateway. */
export interface DemoClients {
  readonly datasets: Client<typeof DatasetService>;
  readonly features: Client<typeof FeatureStoreService>;
  readonly training: Client<typeof TrainingService>;
  readonly registry: Client<typeof ModelRegistryService>;
  readonly inference: Client<typeof InferenceService>;
  readonly oip: Client<typeof GRPCInferenceService>;
}

export function createDemoClients(transport: Transport): DemoClients {
  return {
    datasets: createClient(DatasetService, transport),
    features: createClient(FeatureStoreService, transport),
    training: createClient(TrainingService, transport),
    registry: createClient(ModelRegistryService, transport),
    inference: createClient(InferenceService, transport),
    oip: createClient(GRPCInferenceService, transport),
  };
}
