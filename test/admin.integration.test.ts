/**
 * The admin routes through the real worker in workerd, with real R2 objects,
 * the real Cache API and the real (miniflare) KV namespace. Cloudflare's zone
 * purge API is the stand-in from vitest.config.ts (outboundService), which
 * records each call for the CF_API_LOG binding.
 *
 * Tests in this file build on each other's cache state, in order.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { version } from "../package.json";
import { cacheKeyUrl } from "../src/cache/keys";
import { type Config, loadConfig } from "../src/config";
import { variesByAccept } from "../src/http/negotiate";
import worker from "../src/index";
import { derivativeSettings } from "../src/render/settings";
import { queueStats } from "../src/state";
import { tableSettings } from "../src/wp/size-table";
import { fixtureBytes } from "./helpers";
import { DIR, decode, psnr, seed } from "./images";

/** The settings hash of a JPEG size in its own format, as the serving path keys it. */
const ownSettings = (config: Config) =>
	derivativeSettings(config, variesByAccept("jpeg", config.autoFormat));

const HOST = "http://admin.test";
const vars = env as unknown as {
	ADMIN_TOKEN: string;
	CF_API_TOKEN: string;
	CF_ZONE_ID: string;
	CF_API_LOG: Fetcher;
};
const TOKEN = vars.ADMIN_TOKEN;

const GARDEN = "garden-progressive";
const img = (file: string) => `${HOST}/files/${DIR}${file}`;

interface ApiCall {
	url: string;
	authorization: string | null;
	contentType: string | null;
	body: { files?: string[]; prefixes?: string[] };
}

/** The parts of the purge report these tests read. */
interface PurgeReport {
	ok: boolean;
	error?: string;
	purged: { images: string[]; urls: string[]; prefix: string | null; everything: boolean };
	generation: {
		ok: boolean;
		changes: { key: string; from: number; to: number }[];
		epochs: { to: { all: number; prefixes: number } } | null;
	};
	local: { deleted: number; unknownSizes: string[] };
	tier: unknown;
	global: unknown;
}

async function apiCalls(): Promise<ApiCall[]> {
	return (await vars.CF_API_LOG.fetch("http://log/")).json();
}

async function get(url: string, init?: RequestInit) {
	const res = await SELF.fetch(url, init);
	const bytes = new Uint8Array(await res.arrayBuffer());
	return { res, bytes, cache: res.headers.get("X-Cache"), etag: res.headers.get("ETag") };
}

/** Request twice: a MISS that renders, then a HIT with the same bytes. */
/** Until the work queue's consumer has handled every job this isolate sent (at most 60 s). */
async function queueIdle(): Promise<void> {
	const deadline = Date.now() + 60_000;
	while (queueStats.handled < queueStats.sent || queueStats.active > 0) {
		if (Date.now() > deadline) throw new Error(`queue not idle: ${JSON.stringify(queueStats)}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

async function warm(url: string) {
	const miss = await get(url);
	expect(miss.res.status).toBe(200);
	const hit = await get(url);
	expect(hit.cache).toBe("HIT");
	expect(hit.bytes).toEqual(miss.bytes);
	return hit;
}

function purgeRequest(body: unknown, token: string | null = TOKEN, init: RequestInit = {}) {
	const headers = new Headers({ "Content-Type": "application/json" });
	if (token !== null) headers.set("Authorization", `Bearer ${token}`);
	return new Request(`${HOST}/_admin/purge`, {
		method: "POST",
		headers,
		body: typeof body === "string" ? body : JSON.stringify(body),
		...init,
	});
}

async function purge(body: unknown, token: string | null = TOKEN) {
	const res = await SELF.fetch(purgeRequest(body, token));
	return { res, json: (await res.json()) as PurgeReport };
}

/** Call the worker with some env vars replaced (a fresh env object = a fresh config). */
async function fetchWith(replace: Record<string, unknown>, request: Request): Promise<Response> {
	const ctx = createExecutionContext();
	const response = await worker.fetch(
		request as Request<unknown, IncomingRequestCfProperties>,
		{ ...env, ...replace } as Env,
		ctx,
	);
	await waitOnExecutionContext(ctx);
	return response;
}

beforeAll(async () => {
	await seed(`${GARDEN}.jpg`, "autumn-tiny.jpg", "colorful-cups.jpg");
	// A second folder, to show a prefix purge stays inside its folder.
	await env.ORIGINALS.put(
		"2025/10/autumn-tiny.jpg",
		await fixtureBytes(`originals/${DIR}autumn-tiny.jpg`),
	);
});

beforeEach(async () => {
	await vars.CF_API_LOG.fetch("http://log/", { method: "DELETE" });
});

describe("purging one image", () => {
	it("MISS → HIT → purge → MISS for every size of the image; its neighbours stay HIT", async () => {
		const sizes = [`${GARDEN}-150x150.jpg`, `${GARDEN}-510x320.jpg`, `${GARDEN}-730x456.jpg`];
		const before = await Promise.all(sizes.map((f) => warm(img(f))));
		const neighbour = await warm(img("autumn-tiny-150x150.jpg"));

		// The upload changes in R2 (a different photo under the same name) …
		await env.ORIGINALS.put(
			`${DIR}${GARDEN}.jpg`,
			await fixtureBytes(`originals/${DIR}colorful-cups.jpg`),
		);
		// … and the cache still serves the old pixels: this is what purge is for.
		expect((await get(img(sizes[0] as string))).cache).toBe("HIT");

		// Any of its names will do: here, one of its derivatives, as a full URL.
		const { res, json } = await purge({ images: [img(`${GARDEN}-730x456.jpg`)] });
		expect(res.status).toBe(200);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
		expect(json.ok).toBe(true);
		expect(json.purged.images).toEqual([`${DIR}${GARDEN}.jpg`]);
		expect(json.generation.ok).toBe(true);
		const [change] = json.generation.changes;
		expect(change?.to).toBeGreaterThan(change?.from ?? Number.POSITIVE_INFINITY);
		// The three cached sizes were deleted here (the other sizes were never cached).
		expect(json.local.deleted).toBe(3);
		expect(json.global).toMatchObject({ configured: true, ok: true });

		for (const [i, file] of sizes.entries()) {
			const after = await get(img(file));
			expect(after.res.status).toBe(200);
			expect(after.cache).toBe("MISS");
			expect(after.etag).not.toBe(before[i]?.etag);
			// Fresh pixels from the new upload, not the old photo.
			const [w, h] =
				file
					.match(/(\d+)x(\d+)/)
					?.slice(1)
					.map(Number) ?? [];
			const fresh = await decode(after.bytes);
			expect([fresh.width, fresh.height]).toEqual([w, h]);
			expect(psnr(fresh, await decode(before[i]?.bytes as Uint8Array))).toBeLessThan(20);
			expect((await get(img(file))).cache).toBe("HIT");
		}
		// A client holding the old ETag gets the new bytes, not a 304.
		const revalidate = await get(img(sizes[0] as string), {
			headers: { "If-None-Match": before[0]?.etag as string },
		});
		expect(revalidate.res.status).toBe(200);

		const still = await get(img("autumn-tiny-150x150.jpg"));
		expect(still.cache).toBe("HIT");
		expect(still.bytes).toEqual(neighbour.bytes);
	});

	it("sends the zone purge the exact cache keys of the old generation, 30 at most per call", async () => {
		await warm(img("colorful-cups-150x150.jpg"));
		const { json } = await purge({ images: [`${DIR}colorful-cups.jpg`] });
		expect(json.ok).toBe(true);
		const calls = await apiCalls();
		expect(calls).toHaveLength(1);
		const [call] = calls;
		expect(call?.url).toBe(
			`https://api.cloudflare.com/client/v4/zones/${vars.CF_ZONE_ID}/purge_cache`,
		);
		expect(call?.authorization).toBe(`Bearer ${vars.CF_API_TOKEN}`);
		expect(call?.contentType).toBe("application/json");
		expect(Object.keys(call?.body ?? {})).toEqual(["files"]);
		const files = call?.body.files ?? [];
		// Every size WordPress makes for a 2560x1600 upload with the seed sizes.
		const config = loadConfig(env);
		const own = `?s=${ownSettings(config)}`;
		expect(files).toContain(`${img("colorful-cups-150x150.jpg")}${own}`);
		expect(files).toContain(`${img("colorful-cups-1200x628.jpg")}${own}`);
		expect(files.length).toBeGreaterThanOrEqual(6);
		expect(files.length).toBeLessThanOrEqual(30);
		// … and its size table, which describes all of them.
		const tableKey = `${HOST}/_sizes/${DIR}colorful-cups.jpg?s=${tableSettings(config)}`;
		expect(files).toContain(tableKey);
		expect(files.filter((f) => !f.startsWith(`${HOST}/files/${DIR}colorful-cups-`))).toEqual([
			tableKey,
		]);
	});

	it("purging an image also replaces its size table", async () => {
		const table = `${HOST}/_sizes/${DIR}autumn-tiny.jpg`;
		const warmed = await warm(table);
		expect(JSON.parse(new TextDecoder().decode(warmed.bytes))).toMatchObject({ width: 320 });
		// The upload is replaced by a bigger photo with more sizes.
		await env.ORIGINALS.put(
			`${DIR}autumn-tiny.jpg`,
			await fixtureBytes(`originals/${DIR}${GARDEN}.jpg`),
		);
		expect((await get(table)).cache).toBe("HIT");
		const { json } = await purge({ images: [`${DIR}autumn-tiny.jpg`] });
		// The table, and the 150x150 cached by the first test.
		expect(json.local.deleted).toBe(2);
		const after = await get(table);
		expect(after.cache).toBe("MISS");
		expect(JSON.parse(new TextDecoder().decode(after.bytes))).toMatchObject({ width: 1200 });
		// Put the original back for the tests that follow.
		await seed("autumn-tiny.jpg");
		await purge({ images: [`${DIR}autumn-tiny.jpg`] });
	});

	it("an image named with an upper-case extension purges the size table serving keyed", async () => {
		// Served under the lower-case key whatever case the request used.
		const warmed = await warm(`${HOST}/_sizes/${DIR}colorful-cups.JPG`);
		expect(JSON.parse(new TextDecoder().decode(warmed.bytes))).toMatchObject({ width: 2560 });
		expect((await get(`${HOST}/_sizes/${DIR}colorful-cups.jpg`)).cache).toBe("HIT");
		const { json } = await purge({ images: [`${DIR}colorful-cups.JPG`] });
		expect(json.ok).toBe(true);
		const files = (await apiCalls()).flatMap((c) => c.body.files ?? []);
		const tables = files.filter((f) => f.startsWith(`${HOST}/_sizes/`));
		expect(tables).toHaveLength(1);
		expect(tables[0]).toMatch(
			new RegExp(
				`^${HOST}/_sizes/${DIR}colorful-cups\\.jpg\\?(g=\\d+&)?s=${tableSettings(loadConfig(env))}$`,
			),
		);
		// Its sizes were listed from the same upload serving uses.
		expect(files).toContainEqual(
			expect.stringContaining(`/files/${DIR}colorful-cups-150x150.jpg?`),
		);
		expect(json.local.unknownSizes).toEqual([]);
		expect(files.some((f) => f.includes(".JPG"))).toBe(false);
		// The local delete found it too: the table entry and nothing else was cached.
		expect(json.local.deleted).toBe(1);
	});

	it("an entry left under the old key (as in another data centre) is never served again", async () => {
		const file = "colorful-cups-510x320.jpg";
		const warmed = await warm(img(file));
		const { json } = await purge({ images: [`/files/${DIR}colorful-cups.jpg`] });
		expect(json.ok).toBe(true);
		const from = json.generation.changes[0]?.from as number;
		const oldKey = cacheKeyUrl(HOST, "/files", `${DIR}${file}`, {
			generation: from,
			settings: ownSettings(loadConfig(env)),
		});
		// Another data centre still holds the old entry: the local delete cannot reach it.
		const planted = new Response(warmed.bytes, {
			headers: {
				"Content-Type": "image/jpeg",
				"Cache-Control": "public, max-age=31536000, immutable",
				ETag: warmed.etag as string,
			},
		});
		await caches.default.put(oldKey, planted);

		const after = await get(img(file));
		expect(after.cache).toBe("MISS");
		expect(after.etag).not.toBe(warmed.etag);
		const out = await decode(after.bytes);
		expect([out.width, out.height]).toEqual([510, 320]);
		// The old entry is still there; it is simply no longer reachable.
		expect(await caches.default.match(oldKey)).toBeDefined();
	});
});

describe("negotiated formats", () => {
	it("a purge deletes the WebP entries of an image's sizes too", async () => {
		const on = { AUTO_FORMAT: "true" };
		const url = img(`${GARDEN}-600x420.jpg`);
		const webp = () => new Request(url, { headers: { Accept: "image/webp,*/*" } });
		const first = await fetchWith(on, webp());
		expect(first.headers.get("Content-Type")).toBe("image/webp");
		await first.arrayBuffer();
		const hit = await fetchWith(on, webp());
		expect(hit.headers.get("X-Cache")).toBe("HIT");
		await hit.arrayBuffer();

		const res = await fetchWith(on, purgeRequest({ images: [`${DIR}${GARDEN}.jpg`] }));
		const json = (await res.json()) as PurgeReport;
		expect(res.status).toBe(200);
		// The WebP entry, and the three JPEG sizes the first test cached again.
		expect(json.local.deleted).toBe(4);
		const files = (await apiCalls())[0]?.body.files ?? [];
		expect(files.filter((f) => f.startsWith(`${url}?`) && f.includes("&f=webp&"))).toHaveLength(1);
		const after = await fetchWith(on, webp());
		expect(after.headers.get("X-Cache")).toBe("MISS");
		expect(after.headers.get("Content-Type")).toBe("image/webp");
		await after.arrayBuffer();
	});
});

describe("purging URLs, prefixes and everything", () => {
	it("a URL purge refreshes exactly that URL", async () => {
		const one = `${GARDEN}-510x320.jpg`;
		const other = `${GARDEN}-150x150.jpg`;
		await warm(img(one));
		await warm(img(other));
		const { json } = await purge({ urls: [img(one)] });
		expect(json.ok).toBe(true);
		expect(json.generation.changes).toEqual([expect.objectContaining({ key: `${DIR}${one}` })]);
		expect((await get(img(one))).cache).toBe("MISS");
		expect((await get(img(other))).cache).toBe("HIT");
		const [call] = await apiCalls();
		expect(call?.body.files?.every((f) => f.startsWith(img(one)))).toBe(true);
	});

	it("a prefix purge covers a folder and nothing outside it", async () => {
		const inside = [img("autumn-tiny-150x150.jpg"), img(`${GARDEN}-150x150.jpg`)];
		const outside = `${HOST}/files/2025/10/autumn-tiny-150x150.jpg`;
		for (const url of [...inside, outside]) await warm(url);

		const { res, json } = await purge({ prefix: DIR });
		expect(res.status).toBe(200);
		expect(json.purged.prefix).toBe(DIR);
		expect(json.generation.epochs?.to.prefixes).toBe(1);
		for (const url of inside) expect((await get(url)).cache).toBe("MISS");
		expect((await get(outside)).cache).toBe("HIT");
		expect(await apiCalls()).toMatchObject([
			{ body: { prefixes: [`admin.test/files/${DIR}`, `admin.test/_sizes/${DIR}`] } },
		]);
	});

	it("image and prefix purges delete derivative-tier objects; ORIGINALS is never touched", async () => {
		// Earlier misses' queue jobs (colorful-cups's sizes) must not land in the tier after the purge.
		await queueIdle();
		const tier = (env as unknown as { DERIVATIVES: R2Bucket }).DERIVATIVES;
		const stored = [
			`${DIR}colorful-cups-150x150.jpg`,
			`${DIR}colorful-cups-510x320.jpg`,
			"2025/10/autumn-tiny-150x150.jpg",
			"2025/11/other-150x150.jpg",
		];
		for (const key of stored) {
			await tier.put(key, await fixtureBytes(`originals/${DIR}autumn-tiny.jpg`), {
				customMetadata: { etag: '"e"', generation: "0" },
			});
		}
		const originals = async () =>
			(await env.ORIGINALS.list()).objects.map((o) => `${o.key} ${o.etag}`).sort();
		const before = await originals();

		const image = await purge({ images: [`${DIR}colorful-cups.jpg`] });
		// Seven sizes, each in its own format and as a negotiated AVIF and WebP.
		expect(image.json.tier).toEqual({ configured: true, keys: 21 });
		expect(await tier.head(stored[0] as string)).toBeNull();
		expect(await tier.head(stored[1] as string)).toBeNull();
		expect(await tier.head(stored[2] as string)).not.toBeNull();

		const folder = await purge({ prefix: "2025/10/" });
		expect(folder.json.tier).toEqual({ configured: true, keys: 1 });
		expect(await tier.head(stored[2] as string)).toBeNull();
		expect(await tier.head(stored[3] as string)).not.toBeNull();
		expect(await originals()).toEqual(before);
	});

	it("everything: every derivative, and only the worker's own paths for the zone purge", async () => {
		const urls = [img("autumn-tiny-150x150.jpg"), `${HOST}/files/2025/10/autumn-tiny-150x150.jpg`];
		for (const url of urls) await warm(url);
		const { json } = await purge({ everything: true });
		expect(json.ok).toBe(true);
		expect(json.generation.epochs?.to.prefixes).toBe(0);
		for (const url of urls) expect((await get(url)).cache).toBe("MISS");
		expect(await apiCalls()).toMatchObject([
			{ body: { prefixes: ["admin.test/files/", "admin.test/_sizes/"] } },
		]);
	});
});

describe("failures are reported, and refused requests purge nothing", () => {
	it("an upstream failure of the zone purge is a 502 that says so; the generation still moved", async () => {
		const file = img("autumn-tiny-150x150.jpg");
		await warm(file);
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		const log = vi.spyOn(console, "log").mockImplementation(() => {});
		try {
			const res = await fetchWith(
				{ CF_API_TOKEN: "revoked-token" },
				purgeRequest({ images: [`${DIR}autumn-tiny.jpg`] }),
			);
			expect(res.status).toBe(502);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			const json = (await res.json()) as PurgeReport;
			expect(json.error).toMatch(/global purge request failed/);
			expect(json.ok).toBe(false);
			expect(json.generation.ok).toBe(true);
			expect(json.global).toMatchObject({
				configured: true,
				ok: false,
				calls: [
					{
						kind: "files",
						status: 403,
						ok: false,
						errors: [{ code: 10000, message: "Authentication error" }],
					},
				],
			});
			const lines = [...log.mock.calls, ...error.mock.calls].map((c) => String(c[0]));
			const purgeLines = lines.filter((l) => l.includes('"event":"purge"'));
			expect(purgeLines).toHaveLength(1);
			expect(JSON.parse(purgeLines[0] as string)).toMatchObject({
				event: "purge",
				what: { images: 1 },
				mechanism: { generation: "bumped", global: "failed" },
				outcome: "incomplete",
				token: expect.stringMatching(/^[0-9a-f]{12}$/),
			});
			expect(lines.join("\n")).not.toContain(TOKEN);
		} finally {
			error.mockRestore();
			log.mockRestore();
		}
		expect((await get(file)).cache).toBe("MISS");
	});

	it("a wrong or missing token: 401 with WWW-Authenticate, logged, and everything stays HIT", async () => {
		const file = img(`${GARDEN}-150x150.jpg`);
		const warmed = await warm(file);
		const epochsBefore = await env.PURGE_STATE.get("epochs");
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		try {
			for (const token of [null, "wrong", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
				const res = await fetchWith({}, purgeRequest({ everything: true }, token));
				expect(res.status).toBe(401);
				expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
				expect(res.headers.get("Cache-Control")).toBe("no-store");
				expect(await res.json()).toMatchObject({ error: "Unauthorized", status: 401 });
			}
			const lines = warn.mock.calls.map((c) => JSON.parse(String(c[0])));
			expect(lines).toHaveLength(4);
			expect(lines[0]).toMatchObject({ event: "admin_auth_failed", token: "none" });
			expect(lines[1]).toMatchObject({ event: "admin_auth_failed", reason: "wrong token" });
			expect(JSON.stringify(lines)).not.toContain(TOKEN.slice(0, 12));
		} finally {
			warn.mockRestore();
		}
		expect(await env.PURGE_STATE.get("epochs")).toBe(epochsBefore);
		expect(await apiCalls()).toEqual([]);
		const after = await get(file);
		expect(after.cache).toBe("HIT");
		expect(after.etag).toBe(warmed.etag);
	});

	it.each([
		["bad JSON", "{images:", 400, /not valid JSON/],
		["not an object", "[1]", 400, /JSON object/],
		["an unknown field", { image: ["x.jpg"] }, 400, /Unknown field "image"/],
		["nothing to do", {}, 400, /Nothing to purge/],
		[
			"a path outside the mount",
			{ urls: ["http://admin.test/wp/x.jpg"] },
			400,
			/not under \/files/,
		],
		["a dot segment", { images: ["2025/../x.jpg"] }, 400, /not an upload path/],
		["a prefix with a leading slash", { prefix: "/2025/" }, 400, /key prefix/],
		["everything: false", { everything: false }, 400, /everything must be true/],
		[
			"too many items",
			{ urls: Array.from({ length: 101 }, (_, i) => `a/${i}.jpg`) },
			413,
			/Too many items/,
		],
		["a body over 64 KiB", { images: ["x".repeat(70_000)] }, 413, /Body over/],
	])(
		"%s: refused with a status naming the problem, nothing purged",
		async (_, body, status, message) => {
			const file = img(`${GARDEN}-150x150.jpg`);
			await warm(file);
			const res = await SELF.fetch(purgeRequest(body));
			expect(res.status).toBe(status);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			expect(((await res.json()) as { error: string }).error).toMatch(message);
			expect((await get(file)).cache).toBe("HIT");
		},
	);

	it("takes only JSON, and only POST", async () => {
		const text = await SELF.fetch(
			purgeRequest("{}", TOKEN, { headers: { Authorization: `Bearer ${TOKEN}` } }),
		);
		expect(text.status).toBe(415);
		for (const method of ["GET", "PUT", "DELETE"]) {
			const res = await SELF.fetch(`${HOST}/_admin/purge`, {
				method,
				headers: { Authorization: `Bearer ${TOKEN}` },
			});
			expect(res.status).toBe(405);
			expect(res.headers.get("Allow")).toBe("POST");
			expect(res.headers.get("Cache-Control")).toBe("no-store");
		}
	});
});

describe("status, configuration and admin off", () => {
	it("GET status shows the effective config and the build, never a secret", async () => {
		const res = await SELF.fetch(`${HOST}/_admin/status`, {
			headers: { Authorization: `Bearer ${TOKEN}` },
		});
		expect(res.status).toBe(200);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		const text = await res.text();
		const json = JSON.parse(text);
		expect(json).toMatchObject({
			version,
			build: { id: expect.any(String) },
			config: {
				vars: {
					MOUNT_PATH: "/files",
					JPEG_QUALITY: "82",
					CACHE_CONTROL: "public, max-age=31536000, immutable",
					MAX_OUTPUT_SIDE: "2560",
					ADMIN_PATH: "/_admin",
					ADMIN_TOKEN: "[redacted]",
					CF_ZONE_ID: vars.CF_ZONE_ID,
					CF_API_TOKEN: "[redacted]",
					URL_SIGNING_KEY: null,
				},
				sizes: { thumbnail: { width: 150, height: 150, crop: true } },
			},
			bindings: { ORIGINALS: true, DERIVATIVES: true, DERIVATIVE_QUEUE: true, PURGE_STATE: true },
		});
		expect(text).not.toContain(TOKEN);
		expect(text).not.toContain(vars.CF_API_TOKEN);
		const unauthorized = await SELF.fetch(`${HOST}/_admin/status`);
		expect(unauthorized.status).toBe(401);
		const post = await SELF.fetch(`${HOST}/_admin/status`, {
			method: "POST",
			headers: { Authorization: `Bearer ${TOKEN}` },
		});
		expect(post.status).toBe(405);
		expect(post.headers.get("Allow")).toBe("GET, HEAD");
	});

	it("with no ADMIN_TOKEN every admin route is a 404, even with the right token", async () => {
		const off = { ADMIN_TOKEN: undefined };
		const purgeRes = await fetchWith(off, purgeRequest({ everything: true }));
		expect(purgeRes.status).toBe(404);
		const status = await fetchWith(
			off,
			new Request(`${HOST}/_admin/status`, { headers: { Authorization: `Bearer ${TOKEN}` } }),
		);
		expect(status.status).toBe(404);
		expect(await status.text()).toBe("Not Found\n");
		expect(await apiCalls()).toEqual([]);
	});

	it("ADMIN_PATH moves the routes", async () => {
		const moved = { ADMIN_PATH: "/ops/images" };
		const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
		expect((await fetchWith(moved, new Request(`${HOST}/ops/images/status`, auth))).status).toBe(
			200,
		);
		expect((await fetchWith(moved, new Request(`${HOST}/_admin/status`, auth))).status).toBe(404);
	});

	it.each([
		[{ ADMIN_TOKEN: "short" }, "ADMIN_TOKEN"],
		[{ ADMIN_PATH: "/files/admin" }, "ADMIN_PATH"],
		[{ CF_ZONE_ID: undefined }, "CF_ZONE_ID"],
		[{ CF_ZONE_ID: "not-a-zone" }, "CF_ZONE_ID"],
		[{ PURGE_STATE: undefined }, "PURGE_STATE"],
		[{ GENERATION_MEMO_SECONDS: "600" }, "GENERATION_MEMO_SECONDS"],
	])("a bad admin setting %o fails loudly, naming %s", async (replace, variable) => {
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			const res = await fetchWith(replace, new Request(img(`${GARDEN}-150x150.jpg`)));
			expect(res.status).toBe(500);
			expect(error.mock.calls.map((c) => String(c[0])).join("\n")).toContain(variable);
			expect(error.mock.calls.map((c) => String(c[0])).join("\n")).not.toContain(TOKEN);
		} finally {
			error.mockRestore();
		}
	});
});

describe("PUBLIC_ORIGIN", () => {
	const vars = { PUBLIC_ORIGIN: "https://img.example.test" };
	const at = async (url: string) => {
		const res = await fetchWith(vars, new Request(url));
		return {
			res,
			bytes: new Uint8Array(await res.arrayBuffer()),
			cache: res.headers.get("X-Cache"),
		};
	};
	const file = `files/${DIR}autumn-tiny-150x150.jpg`;

	it("every host and scheme shares one entry; the table's URLs and the purge use that origin", async () => {
		const miss = await at(`http://one.test/${file}`);
		expect(miss.res.status).toBe(200);
		expect(miss.cache).toBe("MISS");
		const hit = await at(`https://two.test/${file}`);
		expect(hit.cache).toBe("HIT");
		expect(hit.bytes).toEqual(miss.bytes);

		const table = await at(`http://one.test/_sizes/${DIR}autumn-tiny.jpg`);
		const body = JSON.parse(new TextDecoder().decode(table.bytes)) as {
			file: string;
			sizes: Record<string, { file: string }>;
		};
		expect(body.file).toBe(`https://img.example.test/files/${DIR}autumn-tiny.jpg`);
		expect(body.sizes.thumbnail?.file).toBe(`https://img.example.test/${file}`);
		expect((await at(`https://three.test/_sizes/${DIR}autumn-tiny.jpg`)).cache).toBe("HIT");

		// Purged from any host (here the admin host, naming a third one): both entries go.
		const res = await fetchWith(
			vars,
			purgeRequest({ images: [`http://elsewhere.test/files/${DIR}autumn-tiny.jpg`] }),
		);
		const json = (await res.json()) as PurgeReport;
		expect(json.ok).toBe(true);
		expect(json.local.deleted).toBe(2);
		const files = (await apiCalls()).flatMap((c) => c.body.files ?? []);
		expect(files.length).toBeGreaterThan(0);
		expect(files.every((f) => f.startsWith("https://img.example.test/"))).toBe(true);
		expect((await at(`http://four.test/${file}`)).cache).toBe("MISS");
	});
});

describe("purge fan-out is bounded", () => {
	it("a purge over PURGE_MAX_CACHE_KEYS is a 413 that says so, and changes nothing", async () => {
		const vars = { PURGE_MAX_CACHE_KEYS: "10" };
		const size = img(`${GARDEN}-150x150.jpg`);
		const warmed = await warm(size);
		const res = await fetchWith(vars, purgeRequest({ images: [`${DIR}${GARDEN}.jpg`] }));
		expect(res.status).toBe(413);
		const text = await res.text();
		expect(text).toMatch(
			/would touch \d+ cache keys \(at most 10 per request, PURGE_MAX_CACHE_KEYS\)/,
		);
		expect(await apiCalls()).toEqual([]);
		// No generation moved, nothing deleted: still the same HIT.
		const after = await get(size);
		expect(after.cache).toBe("HIT");
		expect(after.etag).toBe(warmed.etag);

		// One URL is within the cap and goes through.
		const one = await fetchWith(vars, purgeRequest({ urls: [size] }));
		expect(one.status).toBe(200);
		expect(((await one.json()) as PurgeReport).local.deleted).toBe(1);
		expect((await get(size)).cache).toBe("MISS");
	});
});
