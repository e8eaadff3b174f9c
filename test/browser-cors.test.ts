import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { buildMlpModel, mlpReference } from "@seam/inference/testing";
import { ArtifactFormat, ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Layout, type Suite, startSuite } from "./support/suite.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const REGISTRY = "seam.registry.v1.ModelRegistryService";

// A web page on another origin calls the gateway with Connect JSON from real Chromium:
// CORS preflight, custom request headers, reading the error body, a prediction, and a
// refused origin.
// The gateway of `seam up`, and the gateway as its own process (`seam serve gateway`).
describe.each<Layout>(["embedded", "distributed"])(
  "browser clients through the gateway (%s, real Chromium)",
  (layout) => {
    let suite: Suite;
    let gatewayUrl: string;
    let allowedPage: PageServer;
    let otherPage: PageServer;
    let browser: Browser;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
      }
      allowedPage = await startPageServer();
      otherPage = await startPageServer();
      suite = await startSuite(layout, { SEAM_GATEWAY_CORS_ORIGINS: allowedPage.origin });
      gatewayUrl = suite.gatewayUrl;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        // The machine has no network: keep Chromium from reaching out on its own.
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
      const codes = await suite?.stop();
      await allowedPage?.close();
      await otherPage?.close();
      for (const [role, code] of codes ?? []) expect(code, role).toBe(0);
    });

    async function callFromPage(page: PageServer, method: string, body: unknown, service = REGISTRY) {
      const tab = await browser.newPage();
      try {
        await tab.goto(page.origin);
        return await tab.evaluate(
          async ({ url, payload }) => {
            try {
              const res = await fetch(url, {
                method: "POST",
                // application/json plus a custom header: the browser must preflight.
                headers: { "Content-Type": "application/json", "X-Request-Id": "browser-1" },
                body: JSON.stringify(payload),
              });
              return { ok: true as const, status: res.status, body: await res.json() };
            } catch (err) {
              return { ok: false as const, error: String(err) };
            }
          },
          { url: `${gatewayUrl}/${service}/${method}`, payload: body },
        );
      } finally {
        await tab.close();
      }
    }

    it("lets an allowed origin call RPCs and read results and errors", async () => {
      const created = await callFromPage(allowedPage, "CreateModel", {
        name: "from-browser",
        tags: { ui: "yes" },
      });
      expect(created).toMatchObject({
        ok: true,
        status: 200,
        body: { model: { name: "from-browser", tags: { ui: "yes" } } },
      });

      const missing = await callFromPage(allowedPage, "GetModel", { name: "nope" });
      expect(missing).toMatchObject({ ok: true, status: 404, body: { code: "not_found" } });
    });

    it("lets a page predict with Connect JSON and read the answer", async () => {
      const registry = createClient(ModelRegistryService, createGrpcTransport({ baseUrl: gatewayUrl }));
      async function* upload() {
        yield {
          payload: {
            case: "metadata" as const,
            value: {
              modelName: "web-mlp",
              createModel: true,
              format: ArtifactFormat.ONNX,
              alias: "champion",
            },
          },
        };
        yield { payload: { case: "chunk" as const, value: buildMlpModel({ seed: 5 }) } };
      }
      await registry.uploadModelVersion(upload());
      const x = Array.from({ length: 20 }, (_, i) => i / 10);
      const answer = await callFromPage(
        allowedPage,
        "Predict",
        { model: "web-mlp", requestId: "from-the-page", rows: [{ x }] },
        "seam.inference.v1.InferenceService",
      );
      expect(answer).toMatchObject({
        ok: true,
        status: 200,
        body: { modelName: "web-mlp", modelVersion: "1", route: "champion", requestId: "from-the-page" },
      });
      const body = (answer.ok ? answer.body : {}) as { outputs?: Array<{ floatValues: number[] }> };
      const y = body.outputs?.[0]?.floatValues[0] ?? Number.NaN;
      expect(y).toBeCloseTo(mlpReference({ seed: 5 })(Float32Array.from(x), 1)[0] as number, 4);
      const wrong = await callFromPage(
        allowedPage,
        "Predict",
        { model: "web-mlp", rows: [{ x: [1, 2] }] },
        "seam.inference.v1.InferenceService",
      );
      expect(wrong).toMatchObject({ ok: true, status: 400, body: { code: "invalid_argument" } });
    });

    it("refuses an origin that is not allowed (the browser blocks the call)", async () => {
      const refused = await callFromPage(otherPage, "ListModels", {});
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.error).toContain("Failed to fetch");
    });
  },
);

interface PageServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves an empty HTML page: the origin the browser calls the gateway from. */
async function startPageServer(): Promise<PageServer> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>seam test page</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
