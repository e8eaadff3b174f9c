import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through the "source"
// export condition, so tests never run stale dist/ output of another package.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    include: [
      "services/*/src/**/*.test.ts",
      "gateway/src/**/*.test.ts",
      "cli/src/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // In-process ONNX Runtime sessions: no Microsoft usage telemetry (as the seam command does).
    env: { ORT_DISABLE_TELEMETRY: "1" },
  },
});
