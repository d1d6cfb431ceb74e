import { defineConfig } from "vitest/config";

/**
 * The browser test: plain Node (it starts `wrangler dev` and drives a headless
 * Chromium), so none of the workerd pool of vitest.config.ts.
 */
export default defineConfig({
	test: {
		reporters: ["default", "json"],
		outputFile: { json: "test-results/e2e.json" },
		include: ["e2e/**/*.e2e.test.ts"],
		environment: "node",
		// One server, one browser: the viewports run one after the other.
		fileParallelism: false,
		testTimeout: 240_000,
		hookTimeout: 150_000,
	},
});
