import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/index.js";
import { resolveMetricsConfig, resolveTelemetryConfig } from "./config.js";

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

describe("resolveMetricsConfig", () => {
  it("is off without an OTLP endpoint or a metrics port", () => {
    expect(resolveMetricsConfig({})).toEqual({ enabled: false });
    expect(resolveMetricsConfig({ SEAM_METRICS_PORT: "", OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toEqual({
      enabled: false,
    });
  });

  it("serves Prometheus text on SEAM_METRICS_PORT, on loopback unless SEAM_METRICS_HOST says otherwise", () => {
    expect(resolveMetricsConfig({ SEAM_METRICS_PORT: "0" })).toEqual({
      enabled: true,
      prometheus: { host: "127.0.0.1", port: 0 },
    });
    expect(resolveMetricsConfig({ SEAM_METRICS_PORT: "9464", SEAM_METRICS_HOST: "0.0.0.0" })).toEqual({
      enabled: true,
      prometheus: { host: "0.0.0.0", port: 9464 },
    });
  });

  it("pushes over OTLP to the generic endpoint + /v1/metrics every 60 s by default, protobuf encoded", () => {
    expect(resolveMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toEqual({
      enabled: true,
      otlp: {
        url: "http://collector:4318/v1/metrics",
        protocol: "http/protobuf",
        intervalMs: 60_000,
        timeoutMs: 30_000,
      },
    });
  });

  it("prefers the metrics endpoint and protocol, and never times out after the interval", () => {
    const config = resolveMetricsConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "https://collector/custom/metrics",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: "1000",
      SEAM_METRICS_PORT: "9464",
    });
    expect(config).toEqual({
      enabled: true,
      otlp: {
        url: "https://collector/custom/metrics",
        protocol: "http/json",
        intervalMs: 1000,
        timeoutMs: 1000,
      },
      prometheus: { host: "127.0.0.1", port: 9464 },
    });
  });

  it("leaves OTLP export off with OTEL_METRICS_EXPORTER=none, everything with OTEL_SDK_DISABLED", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", SEAM_METRICS_PORT: "9464" };
    expect(resolveMetricsConfig({ ...env, OTEL_METRICS_EXPORTER: "none" })).toEqual({
      enabled: true,
      prometheus: { host: "127.0.0.1", port: 9464 },
    });
    expect(resolveMetricsConfig({ ...env, OTEL_SDK_DISABLED: "true" })).toEqual({ enabled: false });
    // Traces and metrics have separate switches.
    expect(resolveTelemetryConfig({ SEAM_METRICS_PORT: "9464" }).enabled).toBe(false);
  });

  it("fails fast on a bad port or interval", () => {
    expect(() => resolveMetricsConfig({ SEAM_METRICS_PORT: "http" })).toThrow(/SEAM_METRICS_PORT/);
    expect(() => resolveMetricsConfig({ SEAM_METRICS_PORT: "70000" })).toThrow(ConfigError);
    expect(() =>
      resolveMetricsConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_METRIC_EXPORT_INTERVAL: "0",
      }),
    ).toThrow(/OTEL_METRIC_EXPORT_INTERVAL/);
  });
});
