/**
 * Big WebP originals (render/stream.ts, image/webp.ts): a 50 MP lossy WebP's
 * every size through the real worker at its exact dimensions, close to the
 * same picture resized from a smaller copy, each size decoded cropped and
 * area-averaged by libwebp (never whole) within a stated memory bound; the
 * streamed path close to the shared whole-decode path on a small WebP;
 * lossless and alpha WebPs past MAX_SOURCE_PIXELS_WHOLE refused from the
 * header; a truncated big WebP a 422 that is not cached.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { cacheKeyRequest, cacheKeyUrl } from "../src/cache/keys";
import { loadConfig } from "../src/config";
import { variesByAccept } from "../src/http/negotiate";
import { decodeJpeg } from "../src/image/jpeg";
import { decodePng } from "../src/image/png";
import { codecStats, resetCodecs, wasmPeakMemory } from "../src/image/wasm-lazy";
import { decodeWebp } from "../src/image/webp";
import { lookupUpload } from "../src/origin/lookup";
import { Storage } from "../src/origin/storage";
import { uploadScale } from "../src/render/make";
import { servableFiles } from "../src/render/plan";
import { derivativeSettings } from "../src/render/settings";
import { PASS_OUTPUT_BYTES, streams } from "../src/render/stream";
import { renderGate, sources, streamedOriginals } from "../src/state";
import { fixtureBytes } from "./helpers";
import { psnr, reference } from "./images";
import { expectStreamedLikeWhole } from "./streamed";
import { call, recordingBucket, workerEnv } from "./worker";

const DIR = "2025/12/";
const MB = 2 ** 20;
const [W, H] = [8658, 5772];
/** Peak WASM heaps plus the pixels JS holds at once (see the test), in bytes. */
const BOUND = 96 * MB;
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;
const config = loadConfig(env);
const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
// The registry's sizes plus core's 1536x1536 and 2048x2048 (the largest outputs).
const SIZES = {
	...JSON.parse(env.IMAGE_SIZES),
	"1536x1536": { width: 1536, height: 1536, crop: false },
	"2048x2048": { width: 2048, height: 2048, crop: false },
};
const sized = workerEnv({ IMAGE_SIZES: JSON.stringify(SIZES) });

let bigBytes: Uint8Array = new Uint8Array();
beforeAll(async () => {
	bigBytes = await fixtureBytes("originals/2025/12/big-50mp.webp");
	await env.ORIGINALS.put(`${DIR}big-50mp.webp`, bigBytes);
	await env.ORIGINALS.put(
		`${DIR}small-lossy.webp`,
		await fixtureBytes("originals/2024/11/big-photo-scaled.webp"),
	);
});

/** A WebP that is only its header chunks (no image data): enough to be refused by. */
function headerOnly(kind: "lossy" | "lossless" | "alpha", width: number, height: number) {
	const le32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
	const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];
	const chunk = (tag: string, body: number[]) => [
		...[...tag].map((ch) => ch.charCodeAt(0)),
		...le32(body.length),
		...body,
	];
	const vp8 = chunk("VP8 ", [0x30, 1, 0, 0x9d, 1, 0x2a, ...le32(width | (height << 16)), 0, 0]);
	const image =
		kind === "lossless"
			? chunk("VP8L", [0x2f, ...le32((width - 1) | ((height - 1) << 14)), 0, 0, 0])
			: kind === "alpha"
				? [
						...chunk("VP8X", [0x10, 0, 0, 0, ...le24(width - 1), ...le24(height - 1)]),
						...chunk("ALPH", [0, 0]),
						...vp8,
					]
				: vp8;
	return Uint8Array.from([
		..."RIFF".split("").map((ch) => ch.charCodeAt(0)),
		...le32(image.length + 4),
		..."WEBP".split("").map((ch) => ch.charCodeAt(0)),
		...image,
	]);
}

// First: no background work (the queue making other tests' sizes) counts as a decode here.
describe("WebP limits, from the header", () => {
	it.each([
		[
			"lossless past MAX_SOURCE_PIXELS_WHOLE",
			"lossless",
			4000,
			3000,
			"(lossless WebP) (limit MAX_SOURCE_PIXELS_WHOLE)",
		],
		[
			"alpha past MAX_SOURCE_PIXELS_WHOLE",
			"alpha",
			4000,
			3000,
			"(WebP with alpha) (limit MAX_SOURCE_PIXELS_WHOLE)",
		],
		[
			"lossy past MAX_LOSSLESS_SOURCE_PIXELS",
			"lossy",
			9000,
			6000,
			"(limit MAX_LOSSLESS_SOURCE_PIXELS)",
		],
	] as const)(
		"%s: 422 naming the limit, never downloaded or decoded",
		async (_, kind, w, h, says) => {
			const key = `${DIR}limit-${kind}-${w}x${h}.webp`;
			await env.ORIGINALS.put(key, headerOnly(kind, w, h));
			const recorder = recordingBucket();
			const decodes = codecStats.decodes;
			const res = await call(
				`http://limits.test/files/${key.replace(/\.webp$/, "-150x150.webp")}`,
				workerEnv({ ORIGINALS: recorder.bucket }),
			);
			expect(res.status).toBe(422);
			expect(await res.text()).toContain(says);
			expect(codecStats.decodes).toBe(decodes);
			expect(recorder.reads.filter((r) => r.how === "full" && r.key === key)).toEqual([]);
		},
	);

	it("a truncated 50 MP WebP: 422, twice (nothing cached)", async () => {
		const cut = bigBytes.slice(0, Math.floor(bigBytes.length * 0.6));
		await env.ORIGINALS.put(`${DIR}cut-50mp.webp`, cut);
		const file = `${DIR}cut-50mp-150x150.webp`;
		for (const attempt of [1, 2]) {
			const decodes = codecStats.decodes;
			const res = await call(`http://cut.test/files/${file}`);
			expect(res.status, `attempt ${attempt}`).toBe(422);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			expect(await res.text()).toMatch(/truncated/);
			// Refused by libwebp when the stream started (before any row), each time.
			expect(codecStats.decodes - decodes, `attempt ${attempt}`).toBeGreaterThanOrEqual(1);
		}
		const settings = derivativeSettings(config, variesByAccept("webp", config.autoFormat));
		const keyUrl = cacheKeyUrl("http://cut.test", "/files", file, { settings });
		expect((await caches.default.match(cacheKeyRequest(keyUrl)))?.status).not.toBe(200);
	});
});

describe(`a ${W}x${H} lossy WebP (${((W * H) / 1e6).toFixed(1)} MP)`, () => {
	it("every size is served at its exact size, close to the picture, streamed, within 96 MB", async () => {
		const bigConfig = loadConfig(sized);
		const where = { dir: DIR, name: "big-50mp", ext: "webp" };
		const meta = await lookupUpload(storage, where, bigConfig);
		expect(streams(meta, uploadScale(meta, bigConfig), bigConfig.limits)).toBe(true);
		const planned = servableFiles(meta, bigConfig);
		expect(planned.map((p) => p.key.slice(DIR.length))).toContain("big-50mp-2048x1365.webp");
		resetCodecs();
		sources.forget();
		streamedOriginals.forget();
		const served: { key: string; bytes: Uint8Array; ms: number }[] = [];
		for (const { key } of planned) {
			const started = Date.now();
			const res = await call(`http://images.test/files/${key}`, sized);
			expect(res.status, key).toBe(200);
			served.push({
				key,
				bytes: new Uint8Array(await res.arrayBuffer()),
				ms: Date.now() - started,
			});
		}
		// Never a shared whole decode: every size streamed from the compressed file.
		expect(sources.heldBytes).toBe(0);
		const peaks = wasmPeakMemory();
		// JS holds the compressed file (shared by the sizes), the size being
		// encoded (its resized pixels: orientation 1 copies nothing, the
		// encoder's copy is in its heap) and the queue's pass of other sizes
		// made meanwhile (their kernels' heaps are in the peaks).
		const largest = Math.max(...planned.map(({ render }) => render.width * render.height * 4));
		const held = bigBytes.byteLength + largest + PASS_OUTPUT_BYTES;
		console.log(
			`50 MP WebP: ${served.map((s) => `${s.key.slice(DIR.length)} ${s.ms} ms`).join(", ")}; ` +
				`peak WASM ${Object.entries(peaks)
					.filter(([, v]) => v > 0)
					.map(([k, v]) => `${k} ${mb(v)}`)
					.join(", ")} (sum ${mb(sum(peaks))}); JS-held ${mb(held)}`,
		);
		expect(sum(peaks) + held).toBeLessThanOrEqual(BOUND);
		// The same picture, 3264x2176 (the enlargement's source), resized independently.
		const seed = await decodeJpeg(
			await fixtureBytes("originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only.jpeg"),
		);
		const k = seed.width / W;
		for (const [i, { render: plan }] of planned.entries()) {
			const { key, bytes } = served[i] as (typeof served)[number];
			const out = await decodeWebp(bytes);
			expect(`${out.width}x${out.height}`, key).toBe(`${plan.width}x${plan.height}`);
			const c = plan.crop;
			const crop = {
				x: Math.round(c.x * k),
				y: Math.round(c.y * k),
				w: Math.round(c.w * k),
				h: Math.round(c.h * k),
			};
			const ref = await reference(seed, crop, plan.width, plan.height);
			const db = psnr(out, ref);
			console.log(`${key}: ${db.toFixed(2)} dB against the seed's resize`);
			expect(db, key).toBeGreaterThanOrEqual(32);
		}
	}, 600_000);
});

describe("concurrent misses", () => {
	it("8 misses of 50 MP WebPs (4 uploads) at once all complete, within 96 MB", async () => {
		for (let k = 0; k < 4; k++) await env.ORIGINALS.put(`${DIR}many-${k}.webp`, bigBytes);
		resetCodecs();
		streamedOriginals.forget();
		renderGate.peak = 0;
		const sizes = ["150x150", "730x487", "1200x800", "510x320"];
		const files = Array.from({ length: 8 }, (_, k) => `many-${k % 4}-${sizes[(k >> 1) % 4]}.webp`);
		const responses = await Promise.all(
			files.map((file) => call(`http://many.test/files/${DIR}${file}`)),
		);
		expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
		for (const [k, res] of responses.entries()) {
			const img = await decodeWebp(new Uint8Array(await res.arrayBuffer()));
			expect(`${img.width}x${img.height}.webp`, files[k]).toBe(files[k]?.replace(/^many-\d-/, ""));
		}
		expect(renderGate.peak).toBeLessThanOrEqual(renderGate.slots);
		expect(sources.heldBytes).toBe(0);
		// Two renders at once, each holding its output (resized and encoded), and
		// the compressed files within their budget.
		const held = streamedOriginals.budgetBytes + 2 * 2 * 1200 * 800 * 4;
		console.log(`8 concurrent 50 MP WebP misses: peak WASM sum ${mb(sum(wasmPeakMemory()))}`);
		expect(sum(wasmPeakMemory()) + held).toBeLessThanOrEqual(BOUND);
	}, 600_000);
});

describe("its size table", () => {
	it("lists the sizes and the picture's mean colour, from a streamed look at all of it", async () => {
		const res = await SELF.fetch(`http://table.test/_sizes/${DIR}big-50mp.webp`);
		expect(res.status).toBe(200);
		const body = (await res.json()) as { sizes: object; dominant_color: string };
		expect(Object.keys(body.sizes).length).toBeGreaterThanOrEqual(5);
		expect(sources.heldBytes).toBe(0);
		const seed = await decodeJpeg(
			await fixtureBytes("originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only.jpeg"),
		);
		const mean = [0, 1, 2].map((c) => {
			let s = 0;
			for (let i = c; i < seed.data.length; i += 4) s += seed.data[i] ?? 0;
			return s / (seed.width * seed.height);
		});
		const got = [0, 2, 4].map((i) => Number.parseInt(body.dominant_color.slice(i, i + 2), 16));
		got.forEach((v, c) => {
			expect(Math.abs(v - (mean[c] ?? 0)), `channel ${c}`).toBeLessThan(3);
		});
	}, 120_000);
});

describe("the streamed WebP path makes the shared whole-decode path's pixels", () => {
	it("every size of a 2560x1706 lossy WebP", async () => {
		// PNG out: the pixels themselves (two WebP encodings would differ more).
		// Measured 50.2-59 dB: libwebp's rescaler upsamples chroma linearly (the
		// whole decode "fancy"), and skips deblocking when it shrinks past 4/3.
		await expectStreamedLikeWhole(
			{ dir: DIR, name: "small-lossy", ext: "webp" },
			"png",
			decodePng,
			48,
		);
	}, 120_000);
});
