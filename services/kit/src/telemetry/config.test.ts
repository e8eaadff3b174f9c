import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/index.js";
import { resolveTelemetryConfig } from "./config.js";

describe("resolveTelemetryConfig", () => {
  it("is off without an endpoint, with the default service name", () => {
    expect(resolveTelemetryConfig({})).toEqual({ enabled: false, serviceName: "seam" });
    expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }).enabled).toBe(false);
  });

  it("appends /v1/traces to the generic endpoint and defaults to http/protobuf", () => {
    expect(
      resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }, "registry"),
    ).toEqual({
      enabled: true,
      serviceName: "registry",
      tracesUrl: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
    });
  });

  it("uses the traces endpoint as is and prefers the traces protocol", () => {
    const config = resolveTelemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector/custom/path",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    });
    expect(config).toMatchObject({ tracesUrl: "https://collector/custom/path", protocol: "http/json" });
  });

  it("lets OTEL_SERVICE_NAME win over the name passed in code", () => {
    expect(resolveTelemetryConfig({ OTEL_SERVICE_NAME: "gateway" }, "registry").serviceName).toBe("gateway");
  });

  it("stays off when disabled explicitly", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(resolveTelemetryConfig({ ...endpoint, OTEL_SDK_DISABLED: "true" }).enabled).toBe(false);
    expect(resolveTelemetryConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }).enabled).toBe(false);
  });

  it("fails fast on an unsupported protocol or a malformed endpoint", () => {
    expect(() =>
      resolveTelemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      }),
    ).toThrow(ConfigError);
    expect(() => resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});
