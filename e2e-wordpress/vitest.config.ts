import { defineConfig } from "vitest/config";

/**
 * The WordPress plugin test (`npm run test:wordpress`): plain Node, one
 * WordPress, one MariaDB, one `wrangler dev`, one browser, steps in order.
 * Not part of `npm test` (it needs Debian's PHP, MariaDB and WordPress).
 */
export default defineConfig({
	test: {
		root: new URL("..", import.meta.url).pathname,
		reporters: ["default", "json"],
		outputFile: { json: "test-results/wordpress.json" },
		include: ["e2e-wordpress/**/*.e2e.test.ts"],
		environment: "node",
		fileParallelism: false,
		sequence: { concurrent: false },
		testTimeout: 240_000,
		hookTimeout: 300_000,
	},
});
