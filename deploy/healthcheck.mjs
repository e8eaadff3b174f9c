#!/usr/bin/env node
// Health check of a Seam container (the image's HEALTHCHECK and compose.yaml), with no
// dependency beyond Node itself so it stays cheap to start every few seconds.
//
//   node deploy/healthcheck.mjs                  what the container runs, found in /proc
//   node deploy/healthcheck.mjs grpc <port>      grpc.health.v1.Health/Check of the whole server
//   node deploy/healthcheck.mjs http <port> [path]   GET, 200 expected (default /healthz)
//
// `seam serve <service>` is asked over grpc.health.v1 on its port (the kit reports
// NOT_SERVING until it has started and again while it drains), the gateway answers
// GET /healthz, and `seam worker training`, which serves nothing, is healthy while its
// process runs (or while its metrics endpoint answers, when SEAM_METRICS_PORT is set).
// Exit code 0 healthy, 1 not.
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:http2";

const TIMEOUT_MS = 4_000;

/** `seam serve <name>`: the variables of its bind address and their defaults (services/<name>/src/config.ts). */
const SERVICES = {
  registry: { host: "REGISTRY_HOST", port: "REGISTRY_PORT", defaultPort: 50051 },
  datasets: { host: "DATASETS_HOST", port: "DATASETS_PORT", defaultPort: 50052 },
  features: { host: "FEATURES_HOST", port: "FEATURES_PORT", defaultPort: 50053 },
  training: { host: "TRAINING_HOST", port: "TRAINING_PORT", defaultPort: 50054 },
  inference: { host: "INFERENCE_HOST", port: "INFERENCE_PORT", defaultPort: 50055 },
  gateway: { host: "SEAM_GATEWAY_HOST", port: "SEAM_GATEWAY_PORT", defaultPort: 8080 },
};

/** The arguments after `seam.js` of the Seam process in this container, or undefined. */
function seamArguments() {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // the process ended while we looked
    }
    const at = argv.findIndex((arg) => arg.endsWith("/seam.js") || arg === "seam.js");
    if (at >= 0) return argv.slice(at + 1).filter((arg) => arg !== "");
  }
  return undefined;
}

/** Where to connect for a server bound to `host`: loopback for a wildcard bind. */
function localHost(host) {
  if (host === undefined || host === "" || host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "::1";
  return host;
}

function grpcHealth(host, port) {
  return new Promise((resolve) => {
    const authority = host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
    const session = connect(authority);
    let finished = false;
    const done = (healthy, why) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      session.destroy();
      if (!healthy) process.stderr.write(`unhealthy: gRPC ${host}:${port}: ${why}\n`);
      resolve(healthy);
    };
    const timer = setTimeout(() => done(false, `no answer in ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    session.on("error", (error) => done(false, error.message));
    const call = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks = [];
    call.on("data", (chunk) => chunks.push(chunk));
    call.on("error", (error) => done(false, error.message));
    call.on("trailers", (trailers) => {
      const status = trailers["grpc-status"];
      if (status !== "0") {
        done(false, `grpc-status ${status} ${trailers["grpc-message"] ?? ""}`);
        return;
      }
      // One length-prefixed HealthCheckResponse: field 1 (status) = 1 (SERVING) is 0x08 0x01.
      const body = Buffer.concat(chunks).subarray(5);
      const serving = body.length >= 2 && body[0] === 0x08 && body[1] === 0x01;
      done(serving, serving ? "" : "not SERVING");
    });
    // An empty HealthCheckRequest (service "": the whole server), length-prefixed.
    call.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

function httpHealth(host, port, path) {
  return new Promise((resolve) => {
    const req = httpRequest({ host, port, path, method: "GET", timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      const healthy = res.statusCode === 200;
      if (!healthy) process.stderr.write(`unhealthy: GET ${path} answered ${res.statusCode}\n`);
      resolve(healthy);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    req.on("error", (error) => {
      process.stderr.write(`unhealthy: GET http://${host}:${port}${path}: ${error.message}\n`);
      resolve(false);
    });
    req.end();
  });
}

async function check(argv) {
  const [kind, port, path] = argv;
  if (kind === "grpc" && port !== undefined) return grpcHealth("127.0.0.1", Number(port));
  if (kind === "http" && port !== undefined) return httpHealth("127.0.0.1", Number(port), path ?? "/healthz");

  const seam = seamArguments();
  if (seam === undefined) {
    process.stderr.write("unhealthy: no seam process runs in this container\n");
    return false;
  }
  const [command, name] = seam;
  if (command === "worker") {
    const metricsPort = process.env.SEAM_METRICS_PORT;
    if (metricsPort === undefined || metricsPort === "" || metricsPort === "0") return true;
    return httpHealth("127.0.0.1", Number(metricsPort), "/metrics");
  }
  const service = command === "serve" ? SERVICES[name] : undefined;
  if (service === undefined) {
    process.stderr.write(`unhealthy: cannot check "seam ${seam.join(" ")}"\n`);
    return false;
  }
  const host = localHost(process.env[service.host]);
  const portValue = Number(process.env[service.port] || service.defaultPort);
  return name === "gateway" ? httpHealth(host, portValue, "/healthz") : grpcHealth(host, portValue);
}

process.exitCode = (await check(process.argv.slice(2))) ? 0 : 1;
