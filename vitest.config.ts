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

/**
 * Test secrets for the admin routes, set explicitly so a developer's .dev.vars
 * never changes what the tests see.
 */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789";
export const TEST_ZONE_ID = "0123456789abcdef0123456789abcdef";
export const TEST_CF_API_TOKEN = "test-cf-api-token";

interface ApiCall {
	readonly url: string;
	readonly authorization: string | null;
	readonly contentType: string | null;
	readonly body: unknown;
}
const apiCalls: ApiCall[] = [];

/**
 * Stand-in for every outbound fetch of the worker under test (there is no
 * network in CI): Cloudflare's zone purge endpoint, checking what the real
 * one checks and answering in its envelope. A wrong token gets the API's 403.
 */
async function cloudflareApiStandIn(request: Request): Promise<Response> {
	const url = new URL(request.url);
	const match = /^\/client\/v4\/zones\/([^/]+)\/purge_cache$/.exec(url.pathname);
	if (url.origin !== "https://api.cloudflare.com" || !match || request.method !== "POST") {
		return new Response(`no network in tests: ${request.method} ${request.url}`, { status: 502 });
	}
	const text = await request.text();
	let body: unknown = text;
	try {
		body = JSON.parse(text);
	} catch {}
	apiCalls.push({
		url: request.url,
		authorization: request.headers.get("Authorization"),
		contentType: request.headers.get("Content-Type"),
		body,
	});
	const envelope = (status: number, errors: { code: number; message: string }[]) =>
		Response.json(
			{
				success: status === 200,
				errors,
				messages: [],
				result: status === 200 ? { id: match[1] } : null,
			},
			{ status },
		);
	if (request.headers.get("Authorization") !== `Bearer ${TEST_CF_API_TOKEN}`) {
		return envelope(403, [{ code: 10000, message: "Authentication error" }]);
	}
	if (match[1] !== TEST_ZONE_ID) return envelope(404, [{ code: 7003, message: "Could not route" }]);
	const shape = body as { files?: unknown; prefixes?: unknown };
	const list = shape?.files ?? shape?.prefixes;
	if (!Array.isArray(list) || list.length === 0 || list.length > 30) {
		return envelope(400, [
			{ code: 1012, message: "Request must contain one of files or prefixes, up to 30" },
		]);
	}
	return envelope(200, []);
}

/** Test-only view of the stand-in: GET lists the calls so far, DELETE forgets them. */
function cloudflareApiLog(request: Request): Response {
	if (request.method === "DELETE") apiCalls.length = 0;
	return Response.json(apiCalls);
}

export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.jsonc" },
			miniflare: {
				serviceBindings: { FIXTURES: serveFixture, CF_API_LOG: cloudflareApiLog },
				outboundService: cloudflareApiStandIn,
				// The optional derivative tier, so purge tests can see its objects go.
				r2Buckets: ["DERIVATIVES"],
				bindings: {
					ADMIN_TOKEN: TEST_ADMIN_TOKEN,
					CF_ZONE_ID: TEST_ZONE_ID,
					CF_API_TOKEN: TEST_CF_API_TOKEN,
				},
			},
		}),
	],
	test: {
		// The JSON report feeds the one-line total that `npm test` ends with.
		reporters: ["default", "json"],
		outputFile: { json: "test-results/workerd.json" },
		include: ["src/**/*.test.ts", "test/**/*.test.ts"],
		testTimeout: 60_000,
		hookTimeout: 60_000,
	},
});
