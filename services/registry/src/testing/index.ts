/** Test support of the registry, for its own tests and the services built on it. */
export { createTestRegistry, type RegistryClient, uploadStream } from "./harness.js";
