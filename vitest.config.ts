import { readFile } from "node:fs/promises";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const fixturesRoot = new URL("./fixtures/", import.meta.url);

/**
 * Tests run inside workerd, which has no file system. This test-only service
 * binding serves the repo's `fixtures/` folder so tests read real image bytes.
 */
async function serveFixture(request: Request): Promise<Response> {
	const path = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, "");
	if (path.includes("..")) return new Response("bad path", { status: 400 });
	try {
		return new Response(await readFile(new URL(path, fixturesRoot)));
	} catch {
		return new Response("no such fixture", { status: 404 });
	}
}

export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.jsonc" },
			miniflare: { serviceBindings: { FIXTURES: serveFixture } },
		}),
	],
	test: {
		include: ["src/**/*.test.ts", "test/**/*.test.ts"],
		testTimeout: 60_000,
		hookTimeout: 60_000,
	},
});
