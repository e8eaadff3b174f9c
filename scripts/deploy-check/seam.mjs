// What the checks know about Seam itself: its services and the variables that place them,
// the images deploy/ builds, and the command lines that start its processes. Kubernetes and
// Compose are checked against these same facts.

/** Every Seam service: the variables of its bind address, its default port, the address others use. */
export const SEAM_SERVICES = {
  registry: {
    host: "REGISTRY_HOST",
    port: "REGISTRY_PORT",
    defaultPort: 50051,
    address: "SEAM_REGISTRY_ADDRESS",
  },
  datasets: {
    host: "DATASETS_HOST",
    port: "DATASETS_PORT",
    defaultPort: 50052,
    address: "SEAM_DATASETS_ADDRESS",
  },
  features: {
    host: "FEATURES_HOST",
    port: "FEATURES_PORT",
    defaultPort: 50053,
    address: "SEAM_FEATURES_ADDRESS",
  },
  training: {
    host: "TRAINING_HOST",
    port: "TRAINING_PORT",
    defaultPort: 50054,
    address: "SEAM_TRAINING_ADDRESS",
  },
  inference: {
    host: "INFERENCE_HOST",
    port: "INFERENCE_PORT",
    defaultPort: 50055,
    address: "SEAM_INFERENCE_ADDRESS",
  },
  gateway: { host: "SEAM_GATEWAY_HOST", port: "SEAM_GATEWAY_PORT", defaultPort: 8080, address: undefined },
};

/** The address variables and the service each names. */
export const ADDRESS_VARIABLES = Object.fromEntries(
  Object.entries(SEAM_SERVICES)
    .filter(([, s]) => s.address !== undefined)
    .map(([name, s]) => [s.address, name]),
);

/** Image names (last path segment, no tag) of the images deploy/Dockerfile and Dockerfile.gpu build. */
const SEAM_IMAGES = new Set(["seam", "seam-training-gpu", "seam-inference-gpu"]);

/** The port a Seam service listens on, given its environment. */
export function listenPort(service, env) {
  const spec = SEAM_SERVICES[service];
  return Number(env[spec.port] ?? spec.defaultPort);
}

/** The Seam process a command line starts: { kind: "serve", service }, { kind: "worker", service: "training" }. */
export function seamProcess(args) {
  if (args[0] === "serve" && args.length === 2 && args[1] in SEAM_SERVICES)
    return { kind: "serve", service: args[1] };
  if (args[0] === "worker" && args.length === 2 && args[1] === "training")
    return { kind: "worker", service: "training" };
  return undefined;
}

/** "registry.example.com/seam/seam:0.1.0" → repository, name ("seam"), tag, digest. */
export function parseImage(image) {
  const at = image.indexOf("@");
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  const tag = colon > slash ? withoutDigest.slice(colon + 1) : undefined;
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return { repository, name: repository.slice(repository.lastIndexOf("/") + 1), tag, digest };
}

/** Whether an image reference (any value from a manifest) is one of the images Seam builds. */
export const isSeamImage = (image) => typeof image === "string" && SEAM_IMAGES.has(parseImage(image).name);
