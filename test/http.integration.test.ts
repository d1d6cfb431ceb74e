/**
 * HTTP behaviour of both routes through the real worker: originals streamed
 * as stored, conditional requests, HEAD, methods, query strings, limits,
 * misconfiguration, EXIF orientation and the missing-upload fallback.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { fixtureBytes } from "./helpers";
import { decode, psnr } from "./images";

const HOST = "http://http.test";
const SRC = "originals/2025/09/";

/** Call the worker with some env vars replaced (a fresh env object = a fresh config). */
async function fetchWith(
	vars: Record<string, unknown>,
	url: string,
	init?: RequestInit,
): Promise<Response> {
	const ctx = createExecutionContext();
	const request = new Request(url, init) as Request<unknown, IncomingRequestCfProperties>;
	const response = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
	await waitOnExecutionContext(ctx);
	return response;
}

beforeAll(async () => {
	const put = async (key: string, file: string, contentType?: string) =>
		env.ORIGINALS.put(
			key,
			await fixtureBytes(`${SRC}${file}`),
			contentType ? { httpMetadata: { contentType } } : {},
		);
	await Promise.all([
		put("h/autumn.jpg", "autumn-tiny.jpg", "image/jpeg"),
		put("h/garden.jpg", "garden-progressive.jpg"),
		put("h/cups.jpg", "colorful-cups.jpg"),
		// An EXIF-rotated upload with no -rotated copy: we must turn it ourselves.
		put("exif/elephants.jpg", "elephants-phone.jpg"),
		put("exif/upright.jpg", "elephants-phone-rotated.jpg"),
		// Only the -scaled copy, no upload: sizes from its dimensions, ±1 px.
		put("noupload/harbour-scaled.jpeg", "harbour-friends-scaled.jpeg"),
		put("wrong/goldfish.jpeg", "goldfish.png"),
		put("wrong/goldfish.png", "goldfish.png"),
	]);
	await env.ORIGINALS.put("h/notes.txt", "hello", { httpMetadata: { contentType: "text/plain" } });
});

describe("originals", () => {
	it("streams the stored object unchanged, with its stored type, ETag and caching headers", async () => {
		const res = await SELF.fetch(`${HOST}/files/h/autumn.jpg`);
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("image/jpeg");
		const stored = await env.ORIGINALS.head("h/autumn.jpg");
		expect(res.headers.get("ETag")).toBe(stored?.httpEtag);
		expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
		expect(res.headers.get("Last-Modified")).toBe(stored?.uploaded.toUTCString());
		expect(new Uint8Array(await res.arrayBuffer())).toEqual(
			await fixtureBytes(`${SRC}autumn-tiny.jpg`),
		);
	});

	it("guesses the type from the extension when none was stored, and sandboxes everything", async () => {
		const res = await SELF.fetch(`${HOST}/files/h/garden.jpg`);
		expect(res.headers.get("Content-Type")).toBe("image/jpeg");
		expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
		expect(res.headers.get("Content-Security-Policy")).toContain("sandbox");
		await res.arrayBuffer();
		const text = await SELF.fetch(`${HOST}/files/h/notes.txt`);
		expect(text.headers.get("Content-Type")).toBe("text/plain");
		expect(await text.text()).toBe("hello");
	});

	it("answers If-None-Match with 304, HEAD with headers only, Range with 206", async () => {
		const first = await SELF.fetch(`${HOST}/files/h/autumn.jpg`);
		await first.arrayBuffer();
		const etag = first.headers.get("ETag") ?? "";
		const notModified = await SELF.fetch(`${HOST}/files/h/autumn.jpg`, {
			headers: { "If-None-Match": etag },
		});
		expect(notModified.status).toBe(304);
		expect(await notModified.text()).toBe("");

		const head = await SELF.fetch(`${HOST}/files/h/autumn.jpg`, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.headers.get("Content-Length")).toBe("17908");
		expect(await head.text()).toBe("");

		const range = await SELF.fetch(`${HOST}/files/h/autumn.jpg`, {
			headers: { Range: "bytes=0-99" },
		});
		expect(range.status).toBe(206);
		expect(range.headers.get("Content-Range")).toBe("bytes 0-99/17908");
		expect((await range.arrayBuffer()).byteLength).toBe(100);
	});

	it("412s failed If-Match / If-Unmodified-Since, 304s If-None-Match / If-Modified-Since on GET and HEAD", async () => {
		const url = `${HOST}/files/h/autumn.jpg`;
		const stored = await env.ORIGINALS.head("h/autumn.jpg");
		const etag = stored?.httpEtag ?? "";
		const lastModified = stored?.uploaded.toUTCString() ?? "";
		const past = "Mon, 01 Jan 2001 00:00:00 GMT";
		const cases: [string, Record<string, string>, number][] = [
			["GET", { "If-Match": '"nope"' }, 412],
			["HEAD", { "If-Match": '"nope"' }, 412],
			["GET", { "If-Unmodified-Since": past }, 412],
			["GET", { "If-Match": '"nope"', "If-None-Match": etag }, 412],
			["GET", { "If-Match": etag }, 200],
			["GET", { "If-Unmodified-Since": lastModified }, 200],
			["GET", { "If-None-Match": etag }, 304],
			["HEAD", { "If-None-Match": etag }, 304],
			["GET", { "If-Modified-Since": lastModified }, 304],
			["HEAD", { "If-Modified-Since": lastModified }, 304],
			["GET", { "If-None-Match": '"other"' }, 200],
			["GET", { "If-Modified-Since": past }, 200],
		];
		for (const [method, headers, status] of cases) {
			const res = await SELF.fetch(url, { method, headers });
			const body = new Uint8Array(await res.arrayBuffer());
			expect([method, headers, res.status]).toEqual([method, headers, status]);
			expect(res.headers.get("ETag")).toBe(etag);
			expect(body.byteLength).toBe(status === 200 && method === "GET" ? 17908 : 0);
		}
	});

	it("206s one satisfiable range, 416s an unsatisfiable one, 200s garbage and multi-range", async () => {
		const url = `${HOST}/files/h/autumn.jpg`;
		const whole = await fixtureBytes(`${SRC}autumn-tiny.jpg`);
		const get = (range: string, extra: Record<string, string> = {}) =>
			SELF.fetch(url, { headers: { Range: range, ...extra } });

		const tail = await get("bytes=-100");
		expect(tail.status).toBe(206);
		expect(tail.headers.get("Content-Range")).toBe("bytes 17808-17907/17908");
		expect(tail.headers.get("Content-Length")).toBe("100");
		expect(new Uint8Array(await tail.arrayBuffer())).toEqual(whole.slice(17808));

		const open = await get("bytes=17900-");
		expect(open.status).toBe(206);
		expect(open.headers.get("Content-Range")).toBe("bytes 17900-17907/17908");
		expect(new Uint8Array(await open.arrayBuffer())).toEqual(whole.slice(17900));

		const clamped = await get("bytes=100-99999");
		expect(clamped.status).toBe(206);
		expect(clamped.headers.get("Content-Range")).toBe("bytes 100-17907/17908");
		expect(new Uint8Array(await clamped.arrayBuffer())).toEqual(whole.slice(100));

		for (const range of ["bytes=17908-", "bytes=20000-30000", "bytes=-0"]) {
			const res = await get(range);
			expect([range, res.status]).toEqual([range, 416]);
			expect(res.headers.get("Content-Range")).toBe("bytes */17908");
			expect((await res.arrayBuffer()).byteLength).toBe(0);
		}
		for (const range of ["bytes=abc", "bytes=9-5", "bytes=0-5,10-20", "pages=1-2"]) {
			const res = await get(range);
			expect([range, res.status]).toEqual([range, 200]);
			expect(res.headers.get("Content-Range")).toBeNull();
			expect(new Uint8Array(await res.arrayBuffer())).toEqual(whole);
		}
		// If-Range naming another version: the whole (current) file.
		const stale = await get("bytes=0-9", { "If-Range": '"old"' });
		expect(stale.status).toBe(200);
		expect((await stale.arrayBuffer()).byteLength).toBe(17908);
		const etag = tail.headers.get("ETag") ?? "";
		const current = await get("bytes=0-9", { "If-Range": etag });
		expect(current.status).toBe(206);
		expect((await current.arrayBuffer()).byteLength).toBe(10);
	});

	it("404s a missing original with a short plain body", async () => {
		const res = await SELF.fetch(`${HOST}/files/h/nothing.jpg`);
		expect(res.status).toBe(404);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(await res.text()).toBe("Not Found\n");
	});
});

describe("derivatives over HTTP", () => {
	const url = `${HOST}/files/h/garden-150x150.jpg`;

	it("drops the query string from the cache key: random queries cannot bust the cache", async () => {
		const u = `${HOST}/files/h/cups-800x340.jpg`;
		const miss = await SELF.fetch(`${u}?v=1`);
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		await miss.arrayBuffer();
		for (const query of ["", "?v=2", "?random=8e3f1"]) {
			const hit = await SELF.fetch(`${u}${query}`);
			expect(hit.headers.get("X-Cache")).toBe("HIT");
			await hit.arrayBuffer();
		}
	});

	it("serves HEAD with the same headers and no body, and 304 for a matching ETag on MISS and HIT", async () => {
		const head = await SELF.fetch(url, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.headers.get("Content-Type")).toBe("image/jpeg");
		expect(await head.text()).toBe("");
		const etag = head.headers.get("ETag") ?? "";
		expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

		const full = await SELF.fetch(url);
		expect(full.headers.get("ETag")).toBe(etag);
		expect(full.headers.get("Last-Modified")).toBeTruthy();
		expect(full.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
		expect(Number(full.headers.get("Content-Length"))).toBe((await full.arrayBuffer()).byteLength);

		const cold = await SELF.fetch(`${HOST}/files/h/garden-510x320.jpg`);
		const coldTag = cold.headers.get("ETag") ?? "";
		await cold.arrayBuffer();
		for (const tag of [etag, `W/${etag}`, `"other", ${etag}`]) {
			const res = await SELF.fetch(url, { headers: { "If-None-Match": tag } });
			expect(res.status).toBe(304);
			expect(res.headers.get("ETag")).toBe(etag);
			expect(await res.text()).toBe("");
		}
		expect(coldTag).not.toBe(etag);
	});

	it("answers 304 on a miss without rendering when the client already has the bytes", async () => {
		const first = await SELF.fetch(`${HOST}/files/h/cups-600x420.jpg`);
		const etag = first.headers.get("ETag") ?? "";
		await first.arrayBuffer();
		// A different host is a different cache entry: this one is a MISS.
		const res = await SELF.fetch("http://other-host.test/files/h/cups-600x420.jpg", {
			headers: { "If-None-Match": etag },
		});
		expect(res.status).toBe(304);
		expect(res.headers.get("X-Cache")).toBe("MISS");
	});

	it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])(
		"%s gets 405 with Allow",
		async (method) => {
			const res = await SELF.fetch(url, { method });
			expect(res.status).toBe(405);
			expect(res.headers.get("Allow")).toBe("GET, HEAD");
			await res.arrayBuffer();
		},
	);

	it("404s paths outside the mount and unknown uploads, and never caches them as images", async () => {
		for (const path of ["/", "/wp-content/x.jpg", "/files", "/files/h/unknown-150x150.jpg"]) {
			for (let i = 0; i < 2; i++) {
				const res = await SELF.fetch(`${HOST}${path}`);
				expect(res.status).toBe(404);
				expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
				await res.arrayBuffer();
			}
		}
	});

	it("400s malformed percent-encoding", async () => {
		const res = await SELF.fetch(`${HOST}/files/h/%E0%A4%A-150x150.jpg`);
		expect(res.status).toBe(400);
		expect(await res.text()).toBe("Malformed percent-encoding in path\n");
	});
});

describe("orientation and fallbacks", () => {
	it("turns an EXIF-rotated upload upright when WordPress left no -rotated copy", async () => {
		const rotated = await SELF.fetch(`${HOST}/files/exif/elephants-274x487.jpg`);
		expect(rotated.status).toBe(200);
		const ours = await decode(await rotated.arrayBuffer());
		expect([ours.width, ours.height]).toEqual([274, 487]);
		const upright = await SELF.fetch(`${HOST}/files/exif/upright-274x487.jpg`);
		const reference = await decode(await upright.arrayBuffer());
		// Same photo, one turned by us and one by WordPress: near-identical.
		expect(psnr(ours, reference)).toBeGreaterThan(35);
	});

	it("without the upload, sizes come from the -scaled copy and may be off by one pixel", async () => {
		// From the 2056x3088 upload WordPress wrote 324x487; from 1704x2560 it is 324x487 too,
		// and a neighbour one pixel off is accepted because the upload's size is unknown.
		for (const [w, h] of [
			[324, 487],
			[325, 487],
			[533, 800],
		] as const) {
			const res = await SELF.fetch(`${HOST}/files/noupload/harbour-${w}x${h}.jpeg`);
			expect(res.status).toBe(200);
			const out = await decode(await res.arrayBuffer());
			expect([out.width, out.height]).toEqual([w, h]);
		}
		const far = await SELF.fetch(`${HOST}/files/noupload/harbour-327x487.jpeg`);
		expect(far.status).toBe(404);
	});
});

describe("formats and limits", () => {
	it("422s content that is not what its extension says", async () => {
		const res = await SELF.fetch(`${HOST}/files/wrong/goldfish-150x150.jpeg`);
		expect(res.status).toBe(422);
		expect(await res.text()).toMatch(/PNG data, not JPEG/);
	});

	it.each([
		[{ MAX_SOURCE_PIXELS: "1000" }, "MAX_SOURCE_PIXELS"],
		[{ MAX_SOURCE_BYTES: "2048" }, "MAX_SOURCE_BYTES"],
		[{ MAX_OUTPUT_SIDE: "100" }, "MAX_OUTPUT_SIDE"],
	])("%o gives 422 naming the limit, and nothing is cached", async (vars, limit) => {
		const url = `http://${limit.toLowerCase().replaceAll("_", "-")}.test/files/h/garden-150x150.jpg`;
		for (let i = 0; i < 2; i++) {
			const res = await fetchWith(vars, url);
			expect(res.status).toBe(422);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			expect(await res.text()).toContain(limit);
		}
		// With the default limits the same URL is fine and is a fresh MISS.
		const ok = await fetchWith({}, url);
		expect(ok.status).toBe(200);
		expect(ok.headers.get("X-Cache")).toBe("MISS");
	});

	it("a bad config value fails every request with a 500 whose log names the variable", async () => {
		const log = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			const res = await fetchWith(
				{ JPEG_QUALITY: "very high" },
				`${HOST}/files/h/garden-150x150.jpg`,
			);
			expect(res.status).toBe(500);
			expect(await res.text()).toBe("Server misconfigured\n");
			expect(log.mock.calls.map((c) => String(c[0])).join("\n")).toContain("JPEG_QUALITY");
		} finally {
			log.mockRestore();
		}
	});
});

describe("settings are part of every cache key", () => {
	const SETTINGS_HOST = "http://settings.test";
	const small = JSON.stringify({ thumbnail: { width: 150, height: 150, crop: true } });
	const more = JSON.stringify({
		thumbnail: { width: 150, height: 150, crop: true },
		strip: { width: 300, height: 60, crop: true },
	});

	it("a new JPEG_QUALITY is a MISS with the new bytes, not the old HIT", async () => {
		const url = `${SETTINGS_HOST}/files/h/cups-150x150.jpg`;
		const at = async (q: string) => {
			const res = await fetchWith({ JPEG_QUALITY: q, IMAGE_SIZES: small }, url);
			return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
		};
		const high = await at("90");
		expect(high.res.headers.get("X-Cache")).toBe("MISS");
		expect((await at("90")).res.headers.get("X-Cache")).toBe("HIT");
		const low = await at("30");
		expect(low.res.status).toBe(200);
		expect(low.res.headers.get("X-Cache")).toBe("MISS");
		expect(low.res.headers.get("ETag")).not.toBe(high.res.headers.get("ETag"));
		expect(low.bytes.byteLength).toBeLessThan(high.bytes.byteLength);
		const out = await decode(low.bytes);
		expect([out.width, out.height]).toEqual([150, 150]);
		expect((await at("30")).res.headers.get("X-Cache")).toBe("HIT");
	});

	it("a new IMAGE_SIZES is a MISS: the size table lists the new size and its 404 is forgotten", async () => {
		const table = `${SETTINGS_HOST}/_sizes/h/cups.jpg`;
		const strip = `${SETTINGS_HOST}/files/h/cups-300x60.jpg`;
		const before = await fetchWith({ IMAGE_SIZES: small }, table);
		expect(Object.keys((await before.json()) as object)).toContain("sizes");
		const again = await fetchWith({ IMAGE_SIZES: small }, table);
		expect(again.headers.get("X-Cache")).toBe("HIT");
		expect(Object.keys(((await again.json()) as { sizes: object }).sizes)).toEqual(["thumbnail"]);
		// Not a registered size yet: a 404, remembered briefly.
		const missing = await fetchWith({ IMAGE_SIZES: small }, strip);
		expect(missing.status).toBe(404);
		await missing.arrayBuffer();

		const after = await fetchWith({ IMAGE_SIZES: more }, table);
		expect(after.headers.get("X-Cache")).toBe("MISS");
		const sizes = ((await after.json()) as { sizes: Record<string, { width: number }> }).sizes;
		expect(Object.keys(sizes).sort()).toEqual(["strip", "thumbnail"]);
		const made = await fetchWith({ IMAGE_SIZES: more }, strip);
		expect(made.status).toBe(200);
		const out = await decode(new Uint8Array(await made.arrayBuffer()));
		expect([out.width, out.height]).toEqual([300, 60]);
	});
});

describe("the size registry", () => {
	const small = JSON.stringify({ thumbnail: { width: 150, height: 150, crop: true } });
	const more = JSON.stringify({
		thumbnail: { width: 150, height: 150, crop: true },
		strip: { width: 300, height: 60, crop: true },
	});

	it("registering one more size re-renders nothing: an earlier HIT stays a HIT with the same ETag and bytes", async () => {
		const url = "http://registry.test/files/h/garden-150x150.jpg";
		const miss = await fetchWith({ IMAGE_SIZES: small }, url);
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		const bytes = new Uint8Array(await miss.arrayBuffer());
		const after = await fetchWith({ IMAGE_SIZES: more }, url);
		expect(after.headers.get("X-Cache")).toBe("HIT");
		expect(after.headers.get("ETag")).toBe(miss.headers.get("ETag"));
		expect(new Uint8Array(await after.arrayBuffer())).toEqual(bytes);
	});

	it("a remembered 404 is kept only under the registry it was decided by, and never shows it", async () => {
		const url = "http://registry.test/files/h/garden-300x60.jpg";
		const first = await fetchWith({ IMAGE_SIZES: small }, url);
		expect(first.status).toBe(404);
		await first.arrayBuffer();
		const again = await fetchWith({ IMAGE_SIZES: small }, url);
		expect([again.status, again.headers.get("X-Cache")]).toEqual([404, "HIT"]);
		expect(again.headers.get("X-Size-Registry")).toBeNull();
		await again.arrayBuffer();
		const made = await fetchWith({ IMAGE_SIZES: more }, url);
		expect([made.status, made.headers.get("X-Cache")]).toEqual([200, "MISS"]);
	});
});

describe("the size table and serving apply the same limits", () => {
	type Table = { sizes: Record<string, { file: string; width: number; height: number }> };

	it("MAX_SOURCE_PIXELS under the upload: the table gives the 422 serving gives", async () => {
		const vars = { MAX_SOURCE_PIXELS: "10000" };
		const served = await fetchWith(vars, "http://limits.test/files/h/garden-150x150.jpg");
		expect(served.status).toBe(422);
		const servedText = await served.text();
		expect(servedText).toContain("MAX_SOURCE_PIXELS");
		const table = await fetchWith(vars, "http://limits.test/_sizes/h/garden.jpg");
		expect(table.status).toBe(422);
		expect(await table.text()).toBe(servedText);
		expect(table.headers.get("Cache-Control")).toBe("no-store");
	});

	it("MAX_OUTPUT_SIDE: the table leaves out the sizes over it; every size it lists is served", async () => {
		const vars = { MAX_OUTPUT_SIDE: "700" };
		const res = await fetchWith(vars, "http://limits.test/_sizes/h/garden.jpg");
		expect(res.status).toBe(200);
		const { sizes } = (await res.json()) as Table;
		const listed = Object.values(sizes);
		expect(listed.length).toBeGreaterThan(0);
		for (const size of listed) {
			expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(700);
			const file = await fetchWith(vars, size.file);
			expect([size.file, file.status]).toEqual([size.file, 200]);
			const out = await decode(new Uint8Array(await file.arrayBuffer()));
			expect([out.width, out.height]).toEqual([size.width, size.height]);
		}
		// The full table (no limit) names larger sizes, which this config refuses.
		const full = await fetchWith({}, "http://limits.test/_sizes/h/garden.jpg");
		const all = Object.values(((await full.json()) as Table).sizes);
		const over = all.filter((s) => Math.max(s.width, s.height) > 700);
		expect(over.length).toBeGreaterThan(0);
		for (const size of over) {
			const refused = await fetchWith(vars, size.file);
			expect([size.file, refused.status]).toEqual([size.file, 422]);
			await refused.arrayBuffer();
		}
	});
});
