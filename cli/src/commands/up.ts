import { createClient } from "@connectrpc/connect";
import { createRegistryLineage, datasetsConfigSchema, startDatasetsServer } from "@seam/datasets";
import { featuresConfigSchema, startFeaturesServer } from "@seam/features";
import { connectBackends, createGateway, loadGatewayConfig } from "@seam/gateway";
import { inferenceConfigSchema, startInferenceServer } from "@seam/inference";
import { parseEnv } from "@seam/kit/config";
import { createGrpcTransport, installShutdownHandlers } from "@seam/kit/hosting";
import { createLogger } from "@seam/kit/logging";
import { openStores } from "@seam/kit/storage";
import { shutdownTelemetry, startMetricsEndpoint } from "@seam/kit/telemetry";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { registryConfigSchema, startRegistryServer } from "@seam/registry";
import { startTrainingServer, trainingConfigSchema } from "@seam/training";
import type { Output } from "../output.js";

/**
 * The environment that makes `seam up` bind the gateway and every service to a free port
 * (each prints where it landed): what tests and benchmarks start it with.
 */
export const ANY_FREE_PORTS: Readonly<Record<string, string>> = {
  SEAM_GATEWAY_PORT: "0",
  REGISTRY_PORT: "0",
  DATASETS_PORT: "0",
  FEATURES_PORT: "0",
  TRAINING_PORT: "0",
  INFERENCE_PORT: "0",
};

/**
 * `seam up`: every implemented service plus the gateway in one process, on the
 * embedded stores under SEAM_DATA_DIR (or on Redis when REDIS_URL is set).
 * Each service keeps its own gRPC port (with reflection), as it would alone, and
 * services reach each other over grpc-js as they would across hosts.
 */
export async function runUp(env: Record<string, string | undefined>, out: Output): Promise<void> {
  const registryConfig = parseEnv(registryConfigSchema, env);
  const datasetsConfig = parseEnv(datasetsConfigSchema, env);
  const featuresConfig = parseEnv(featuresConfigSchema, env);
  const trainingConfig = parseEnv(trainingConfigSchema, env);
  const inferenceConfig = parseEnv(inferenceConfigSchema, env);
  const gatewayConfig = loadGatewayConfig(env);
  const logger = createLogger({ service: "seam", level: registryConfig.LOG_LEVEL });
  const stores = await openStores({
    dataDir: registryConfig.SEAM_DATA_DIR,
    ...(registryConfig.REDIS_URL === undefined ? {} : { redisUrl: registryConfig.REDIS_URL }),
  });

  const registry = await startRegistryServer(registryConfig, stores, logger.child({ component: "registry" }));
  const registryAddress = `${dialableHost(registryConfig.REGISTRY_HOST)}:${registry.port}`;

  const registryForDatasets = createGrpcTransport({ address: registryAddress });
  const datasets = await startDatasetsServer(
    datasetsConfig,
    stores,
    logger.child({ component: "datasets" }),
    createRegistryLineage(createClient(ModelRegistryService, registryForDatasets)),
  );
  const datasetsAddress = `${dialableHost(datasetsConfig.DATASETS_HOST)}:${datasets.port}`;

  // The feature store dials the datasets and registry servers started above, wherever they landed.
  const features = await startFeaturesServer(
    { ...featuresConfig, SEAM_DATASETS_ADDRESS: datasetsAddress, SEAM_REGISTRY_ADDRESS: registryAddress },
    stores,
    logger.child({ component: "features" }),
  );
  const featuresAddress = `${dialableHost(featuresConfig.FEATURES_HOST)}:${features.port}`;

  // Training reads its data from the dataset service (joined by the feature store for a
  // features job) and registers models in the registry.
  const training = await startTrainingServer(
    {
      ...trainingConfig,
      SEAM_DATASETS_ADDRESS: datasetsAddress,
      SEAM_REGISTRY_ADDRESS: registryAddress,
      SEAM_FEATURES_ADDRESS: featuresAddress,
    },
    stores,
    logger.child({ component: "training" }),
  );
  const trainingAddress = `${dialableHost(trainingConfig.TRAINING_HOST)}:${training.port}`;

  // Inference resolves models in the registry, looks features up in the feature store and
  // appends its prediction log to the dataset service.
  const inference = await startInferenceServer(
    {
      ...inferenceConfig,
      SEAM_DATASETS_ADDRESS: datasetsAddress,
      SEAM_REGISTRY_ADDRESS: registryAddress,
      SEAM_FEATURES_ADDRESS: featuresAddress,
    },
    stores,
    logger.child({ component: "inference" }),
  );
  const inferenceAddress = `${dialableHost(inferenceConfig.INFERENCE_HOST)}:${inference.port}`;

  const { services, transports } = connectBackends({
    registry: registryAddress,
    datasets: datasetsAddress,
    features: featuresAddress,
    training: trainingAddress,
    inference: inferenceAddress,
  });
  const gateway = createGateway({
    services,
    logger: logger.child({ component: "gateway" }),
    maxRequestBytes: gatewayConfig.maxRequestBytes,
    corsOrigins: gatewayConfig.corsOrigins,
  });
  const gatewayPort = await gateway.listen(gatewayConfig.host, gatewayConfig.port);

  out.line(
    `seam is up (storage: ${stores.kind === "redis" ? "redis" : `embedded in ${registryConfig.SEAM_DATA_DIR}`})`,
  );
  out.line(`  gateway   http://${gatewayConfig.host}:${gatewayPort}  (Connect, gRPC-Web, gRPC)`);
  out.line(`  registry  ${registryConfig.REGISTRY_HOST}:${registry.port}  (gRPC, reflection on)`);
  out.line(`  datasets  ${datasetsConfig.DATASETS_HOST}:${datasets.port}  (gRPC, reflection on)`);
  out.line(`  features  ${featuresConfig.FEATURES_HOST}:${features.port}  (gRPC, reflection on)`);
  out.line(`  training  ${trainingConfig.TRAINING_HOST}:${training.port}  (gRPC, reflection on)`);
  out.line(
    `  inference ${inferenceConfig.INFERENCE_HOST}:${inference.port}  (gRPC + Open Inference Protocol, reflection on)`,
  );
  // Opened by the first server above when SEAM_METRICS_PORT is set; undefined otherwise.
  const metricsUrl = await startMetricsEndpoint(logger);
  if (metricsUrl !== undefined) out.line(`  metrics   ${metricsUrl}  (Prometheus text)`);
  out.line("Ctrl-C stops it.");

  installShutdownHandlers(
    {
      // Outside clients first, so nothing new reaches a service that is draining; then
      // training, which still reads datasets and registers models; then the feature store,
      // whose materializations and joins still call the dataset service.
      shutdown: async (graceMs) => {
        await gateway.close();
        await inference.server.shutdown(graceMs);
        // Its registry watch is a call that never ends by itself: stop it (and flush the
        // prediction log into the dataset service) before the registry drains.
        await inference.close();
        await training.server.shutdown(graceMs);
        // Its runner reads datasets and registers models too: running jobs stop here (left
        // RUNNING, resumed from their checkpoint at the next start) while both still serve.
        await training.runner.close();
        await features.server.shutdown(graceMs);
        await Promise.all([datasets.server.shutdown(graceMs), registry.server.shutdown(graceMs)]);
      },
    },
    logger,
    {
      beforeExit: async () => {
        for (const transport of [...transports, registryForDatasets]) transport.close();
        // Their runner, clients and online store; the shared stores they use go after them.
        await training.close();
        await features.close();
        await stores.close();
        await shutdownTelemetry();
      },
    },
  );
}

// A server bound to every interface is reached through loopback from inside the process.
function dialableHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}
