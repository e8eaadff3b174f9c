import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";
import { Health } from "@seam/proto/grpc/health/v1/health_pb";

/** The proto-loader PackageDefinition shape @grpc/reflection reads, without a dependency on proto-loader. */
type ReflectionPackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** The fully-qualified name of the grpc.health.v1 service every kit server hosts. */
export const HEALTH_SERVICE_NAME = Health.typeName;

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.proto.name)) return;
  into.set(file.proto.name, file);
  for (const dependency of file.dependencies) collectFiles(dependency, into);
}

/**
 * Builds the PackageDefinition @grpc/reflection indexes: it only reads
 * `fileDescriptorProtos` (serialized google.protobuf.FileDescriptorProto) of each
 * entry, so each entry carries one file — every registered service's file and its
 * transitive imports, grpc.health.v1 included — encoded from the protobuf-es descriptors.
 */
export function createReflectionPackageDefinition(
  services: readonly DescService[],
): ReflectionPackageDefinition {
  const files = new Map<string, DescFile>();
  // The health service is described from the same vendored proto grpc-health-check serves,
  // so reflection clients (buf curl, grpcurl) can resolve it like any other service.
  for (const service of [...services, Health]) collectFiles(service.file, files);
  const definition: Record<string, { format: string; type: object; fileDescriptorProtos: Buffer[] }> = {};
  for (const [name, file] of files) {
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    definition[`file:${name}`] = {
      format: "Protocol Buffer 3 FileDescriptorProto",
      type: {},
      fileDescriptorProtos: [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
    };
  }
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
