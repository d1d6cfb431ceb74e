/**
 * AUTO_FORMAT through the real router and the real edge cache: the
 * negotiated format is part of the cache key and the ETag, every variant says
 * `Vary: Accept`, and a client that does not accept WebP never gets WebP,
 * whichever kind of client warmed the cache first.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { decodeImage } from "../src/image/formats";
import { detectFormat } from "../src/image/probe";
import { buildApp } from "../src/index";
import { DIR, psnr, seed } from "./images";

const CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const PLAIN = "image/png,image/*;q=0.8,*/*;q=0.5";
const WEBP_ONLY = "image/webp,*/*";

const app = buildApp(parseConfig({ ...env, AUTO_FORMAT: "true" }));

/** One request through the AUTO_FORMAT app, waiting for its cache write. */
async function get(file: string, headers: Record<string, string> = {}) {
	const ctx = createExecutionContext();
	const res = await app.fetch(
		new Request(`http://auto.test/files/${DIR}${file}`, { headers }),
		env,
		ctx,
	);
	const bytes = new Uint8Array(await res.arrayBuffer());
	await waitOnExecutionContext(ctx);
	return {
		status: res.status,
		type: res.headers.get("Content-Type"),
		cache: res.headers.get("X-Cache"),
		vary: res.headers.get("Vary"),
		etag: res.headers.get("ETag"),
		bytes,
	};
}

beforeAll(async () => {
	await seed("garden-progressive.jpg", "logo-palette.png", "garden-lossy.webp");
});

describe("AUTO_FORMAT on", () => {
	it("negotiated WebP uses NEGOTIATED_WEBP_QUALITY: fewer bytes than the JPEG, same picture", async () => {
		const file = "garden-progressive-730x456.jpg";
		const webp = await get(file, { Accept: CHROME });
		const jpeg = await get(file, { Accept: PLAIN });
		expect([webp.type, jpeg.type]).toEqual(["image/webp", "image/jpeg"]);
		expect(webp.bytes.byteLength).toBeLessThan(jpeg.bytes.byteLength * 0.8);
		const w = await decodeImage("webp", webp.bytes);
		const j = await decodeImage("jpeg", jpeg.bytes);
		expect(psnr(w, j)).toBeGreaterThan(36);
		// WordPress's WebP quality (86, for WebP uploads) would cost more bytes.
		const at86 = buildApp(
			parseConfig({ ...env, AUTO_FORMAT: "true", NEGOTIATED_WEBP_QUALITY: "86" }),
		);
		const ctx = createExecutionContext();
		const res = await at86.fetch(
			new Request(`http://auto86.test/files/${DIR}${file}`, { headers: { Accept: CHROME } }),
			env,
			ctx,
		);
		const bytes86 = (await res.arrayBuffer()).byteLength;
		await waitOnExecutionContext(ctx);
		expect(res.headers.get("ETag")).not.toBe(webp.etag);
		expect(bytes86).toBeGreaterThan(webp.bytes.byteLength);
	});

	it("a WebP client warms the cache, then a plain client still gets JPEG", async () => {
		const file = "garden-progressive-510x320.jpg";
		// (Chrome's Accept names AVIF too: its entry is the AVIF one, see avif.integration.test.ts)
		const webp = await get(file, { Accept: WEBP_ONLY });
		expect([webp.status, webp.type, webp.cache, webp.vary]).toEqual([
			200,
			"image/webp",
			"MISS",
			"Accept",
		]);
		expect(detectFormat(webp.bytes)).toBe("webp");
		const image = await decodeImage("webp", webp.bytes);
		expect([image.width, image.height]).toEqual([510, 320]);

		const plain = await get(file, { Accept: PLAIN });
		expect([plain.status, plain.type, plain.cache, plain.vary]).toEqual([
			200,
			"image/jpeg",
			"MISS",
			"Accept",
		]);
		expect(detectFormat(plain.bytes)).toBe("jpeg");
		expect(plain.etag).not.toBe(webp.etag);

		// Both are now cached, each under its own key.
		const none = await get(file);
		expect([none.type, none.cache, none.etag]).toEqual(["image/jpeg", "HIT", plain.etag]);
		expect(none.bytes).toEqual(plain.bytes);
		const again = await get(file, { Accept: WEBP_ONLY });
		expect([again.type, again.cache, again.etag]).toEqual(["image/webp", "HIT", webp.etag]);
		expect(again.bytes).toEqual(webp.bytes);
	});

	it("a plain client warms the cache, then a WebP client gets WebP", async () => {
		const file = "garden-progressive-600x420.jpg";
		const plain = await get(file, { Accept: "*/*" });
		expect([plain.type, plain.cache, plain.vary]).toEqual(["image/jpeg", "MISS", "Accept"]);
		const webp = await get(file, { Accept: CHROME });
		expect([webp.type, webp.cache, webp.vary]).toEqual(["image/webp", "MISS", "Accept"]);
		expect(detectFormat(webp.bytes)).toBe("webp");
		expect((await get(file, { Accept: "*/*" })).cache).toBe("HIT");
		expect((await get(file, { Accept: CHROME })).cache).toBe("HIT");
		// Only explicit WebP support counts; wildcards are not enough.
		const wildcard = await get(file, { Accept: "image/*" });
		expect([wildcard.type, wildcard.cache]).toEqual(["image/jpeg", "HIT"]);
	});

	it("a validator of one variant does not revalidate the other", async () => {
		const file = "garden-progressive-150x150.jpg";
		const webp = await get(file, { Accept: CHROME });
		const plain = await get(file, { "If-None-Match": webp.etag ?? "" });
		expect([plain.status, plain.type]).toEqual([200, "image/jpeg"]);
		const same = await get(file, { Accept: CHROME, "If-None-Match": webp.etag ?? "" });
		expect([same.status, same.vary]).toEqual([304, "Accept"]);
	});

	it("a PNG with transparency becomes a WebP with the same transparency", async () => {
		const webp = await get("logo-palette-150x150.png", { Accept: CHROME });
		expect([webp.type, webp.vary]).toEqual(["image/webp", "Accept"]);
		const image = await decodeImage("webp", webp.bytes);
		const alpha = (x: number, y: number) => image.data[(y * image.width + x) * 4 + 3];
		expect(alpha(0, 0)).toBe(0);
		expect(alpha(75, 75)).toBe(255);
		const png = await get("logo-palette-150x150.png", { Accept: PLAIN });
		expect([png.type, png.cache]).toEqual(["image/png", "MISS"]);
		expect(detectFormat(png.bytes)).toBe("png");
	});

	it("a WebP original is WebP for everyone and does not vary", async () => {
		const first = await get("garden-lossy-150x150.webp", { Accept: CHROME });
		const second = await get("garden-lossy-150x150.webp", { Accept: "*/*" });
		expect([first.type, first.vary, first.cache]).toEqual(["image/webp", null, "MISS"]);
		expect([second.type, second.vary, second.cache]).toEqual(["image/webp", null, "HIT"]);
	});
});

describe("AUTO_FORMAT off (the default)", () => {
	it("a WebP client gets the file's own format, with no Vary", async () => {
		const res = await SELF.fetch(`http://images.test/files/${DIR}garden-progressive-800x340.jpg`, {
			headers: { Accept: CHROME },
		});
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("image/jpeg");
		expect(res.headers.get("Vary")).toBeNull();
		expect(detectFormat(new Uint8Array(await res.arrayBuffer()))).toBe("jpeg");
	});
});
