import { ConfigError } from "@seam/kit/config";
import { describe, expect, it } from "vitest";
import { connectBackends, loadBackendAddresses } from "./backends.js";

describe("backends", () => {
  it("defaults every backend to its service's port on loopback", () => {
    expect(loadBackendAddresses({})).toEqual({
      registry: "127.0.0.1:50051",
      datasets: "127.0.0.1:50052",
      features: "127.0.0.1:50053",
      training: "127.0.0.1:50054",
      inference: "127.0.0.1:50055",
    });
  });

  it("reads each address from its variable and names a bad one", () => {
    expect(
      loadBackendAddresses({
        SEAM_REGISTRY_ADDRESS: "registry:50051",
        SEAM_DATASETS_ADDRESS: "datasets:50052",
        SEAM_FEATURES_ADDRESS: "features:7000",
        SEAM_TRAINING_ADDRESS: "training:7001",
        SEAM_INFERENCE_ADDRESS: "inference:7002",
      }),
    ).toEqual({
      registry: "registry:50051",
      datasets: "datasets:50052",
      features: "features:7000",
      training: "training:7001",
      inference: "inference:7002",
    });
    expect(() => loadBackendAddresses({ SEAM_FEATURES_ADDRESS: "no port" })).toThrow(ConfigError);
    expect(() => loadBackendAddresses({ SEAM_FEATURES_ADDRESS: "no port" })).toThrow(/SEAM_FEATURES_ADDRESS/);
    expect(() => loadBackendAddresses({ SEAM_TRAINING_ADDRESS: "training" })).toThrow(
      /SEAM_TRAINING_ADDRESS/,
    );
  });

  it("routes each public service to its backend, one transport per backend address", () => {
    const { services, transports } = connectBackends(loadBackendAddresses({}));
    try {
      expect(services.map((s) => s.service.typeName)).toEqual([
        "seam.registry.v1.ModelRegistryService",
        "seam.datasets.v1.DatasetService",
        "seam.features.v1.FeatureStoreService",
        "seam.training.v1.TrainingService",
        "seam.inference.v1.InferenceService",
        "inference.GRPCInferenceService",
      ]);
      // Both inference APIs share the inference server's connection.
      expect(transports).toHaveLength(5);
      expect(services[4]?.transport).toBe(services[5]?.transport);
    } finally {
      for (const transport of transports) transport.close();
    }
  });
});
