import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";
import { service as healthService } from "grpc-health-check";

/** The proto-loader PackageDefinition shape @grpc/reflection reads, without a dependency on proto-loader. */
type ReflectionPackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** The fully-qualified name of the grpc.health.v1 service every kit server hosts. */
export const HEALTH_SERVICE_NAME = "grpc.health.v1.Health";

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.proto.name)) return;
  into.set(file.proto.name, file);
  for (const dependency of file.dependencies) collectFiles(dependency, into);
}

/**
 * Builds the PackageDefinition @grpc/reflection indexes: it only reads
 * `fileDescriptorProtos` (serialized google.protobuf.FileDescriptorProto) of each
 * entry, so each entry carries one file — every registered service's file and its
 * transitive imports — encoded from the protobuf-es descriptors. The health
 * service's own descriptor comes from grpc-health-check's loaded definition.
 */
export function createReflectionPackageDefinition(
  services: readonly DescService[],
): ReflectionPackageDefinition {
  const files = new Map<string, DescFile>();
  for (const service of services) collectFiles(service.file, files);
  const definition: Record<string, { format: string; type: object; fileDescriptorProtos: Buffer[] }> = {};
  for (const [name, file] of files) {
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    definition[`file:${name}`] = {
      format: "Protocol Buffer 3 FileDescriptorProto",
      type: {},
      fileDescriptorProtos: [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
    };
  }
  const healthCheck = healthService.Check;
  if (healthCheck !== undefined) definition[`service:${HEALTH_SERVICE_NAME}`] = healthCheck.requestType;
  return definition as unknown as ReflectionPackageDefinition;
}

/**
 * Creates the reflection service (grpc.reflection.v1 and v1alpha) listing exactly the
 * given services plus grpc.health.v1.Health, so grpcurl and Postman work against
 * any kit server without .proto files.
 */
export function createReflectionService(services: readonly DescService[]): ReflectionService {
  return new ReflectionService(createReflectionPackageDefinition(services), {
    services: [...services.map((service) => service.typeName), HEALTH_SERVICE_NAME],
  });
}
