/**
 * Faults: R2 failing in each way we can inject, a codec trapping mid-call,
 * and bursts of concurrent misses.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { InternalError } from "../src/http/errors";
import { encodeImage } from "../src/image/formats";
import { decodeJpeg, encodeJpeg } from "../src/image/jpeg";
import { resizeRGBA } from "../src/image/resize";
import {
	codecStats,
	KEEP_HEAP_BYTES,
	resetCodecs,
	wasmMemory,
	wasmPeakMemory,
} from "../src/image/wasm-lazy";
import { renderGate } from "../src/state";
import { fixtureBytes } from "./helpers";
import { decode } from "./images";
import { call, type Fault, publicText, recordingBucket, workerEnv } from "./worker";

const DIR = "2025/11/";
const url = (file: string) => `http://images.test/files/${DIR}${file}`;

beforeAll(async () => {
	const tiny = await fixtureBytes("originals/2025/09/autumn-tiny.jpg");
	await Promise.all(
		["throw", "slow", "null-full", "original", "trap", "burst"].map((name) =>
			env.ORIGINALS.put(`${DIR}${name}.jpg`, tiny),
		),
	);
});

describe("R2 failures", () => {
	it.each<[Fault, number]>([
		["throw", 502],
		["slow", 503],
		["null-full", 503],
	])(
		"%s → %i with Retry-After, never cached; after recovery the same URL is a 200",
		async (fault, status) => {
			const recorder = recordingBucket();
			const faulty = workerEnv({ ORIGINALS: recorder.bucket, R2_TIMEOUT_MS: "100" });
			const file = `${fault}-150x150.jpg`;
			recorder.fault = fault;
			for (const attempt of [1, 2]) {
				const started = Date.now();
				const res = await call(url(file), faulty);
				expect(res.status, `attempt ${attempt}`).toBe(status);
				expect(res.headers.get("Retry-After")).toBe("5");
				expect(res.headers.get("Cache-Control")).toBe("no-store");
				expect(await publicText(res)).toMatch(/^(Storage|Original)/);
				// The time-out is R2_TIMEOUT_MS (100 ms here), not the 5 s the call would take.
				if (fault === "slow") expect(Date.now() - started).toBeLessThan(2000);
			}
			recorder.fault = "none";
			const ok = await call(url(file), faulty);
			expect(ok.status).toBe(200);
			expect(ok.headers.get("X-Cache")).toBe("MISS");
			const img = await decode(await ok.arrayBuffer());
			expect([img.width, img.height]).toEqual([150, 150]);
		},
	);

	it("an original asked for by name: 502 while R2 is down, 200 after", async () => {
		const recorder = recordingBucket();
		const faulty = workerEnv({ ORIGINALS: recorder.bucket });
		recorder.fault = "throw";
		const down = await call(url("original.jpg"), faulty);
		expect(down.status).toBe(502);
		expect(down.headers.get("Retry-After")).toBe("5");
		recorder.fault = "none";
		const up = await call(url("original.jpg"), faulty);
		expect(up.status).toBe(200);
		expect(new Uint8Array(await up.arrayBuffer())).toEqual(
			await fixtureBytes("originals/2025/09/autumn-tiny.jpg"),
		);
	});
});

describe("a codec that traps does not poison the isolate", () => {
	it("a real WASM trap in the resize kernel: the instance is dropped and re-made", async () => {
		const src = await decodeJpeg(await fixtureBytes("originals/2025/09/autumn-tiny.jpg"));
		const before = { ...codecStats };
		// 60000 x 60000 RGBA is 14.4 GB: the kernel's allocation fails inside WASM.
		const options = { filter: "lanczos3", premultiply: false } as const;
		const crop = { x: 0, y: 0, w: src.width, h: src.height };
		await expect(resizeRGBA(src, crop, 60000, 60000, options)).rejects.toSatisfy(
			(err) => err instanceof WebAssembly.RuntimeError || err instanceof RangeError,
		);
		expect(codecStats.traps).toBe(before.traps + 1);
		// The next call works, on a new instance.
		const out = await resizeRGBA(src, crop, 32, 20, options);
		expect([out.width, out.height, out.data.length]).toEqual([32, 20, 32 * 20 * 4]);
		expect(codecStats.instantiations).toBe(before.instantiations + 1);
	});

	it("a trap mid-request, then a good request through the worker succeeds", async () => {
		const before = { ...codecStats };
		// A libjpeg error exits the decoder mid-call (see bad-originals for the HTTP side).
		const bytes = await fixtureBytes("hostile/upright.jpg");
		const bad = bytes.slice();
		const dht = bad.findIndex((v, i) => v === 0xff && bad[i + 1] === 0xc4);
		bad.fill(0xff, dht + 5, dht + 21);
		await expect(decodeJpeg(bad)).rejects.toMatchObject({
			status: 422,
			publicMessage: "Could not decode JPEG",
		});
		const res = await call(url("trap-150x150.jpg"));
		expect(res.status).toBe(200);
		expect(codecStats.instantiations).toBeGreaterThan(before.instantiations);
		expect(codecStats.traps).toBe(before.traps + 1);
		expect((await decode(await res.arrayBuffer())).width).toBe(150);
	});
});

describe("an encoder error mid-call", () => {
	it("an encoder's error exit (libjpeg's error_exit, thrown through WASM) is a typed 500, and the next encode works", async () => {
		const traps = codecStats.traps;
		const zero = { data: new Uint8ClampedArray(0), width: 0, height: 0 };
		const settings = {
			jpegQuality: 80,
			jpegProgressive: false,
			webpQuality: 80,
			negotiatedWebpQuality: 80,
			pngLevel: 2,
		};
		const err = await encodeImage(zero, {
			format: "jpeg",
			settings,
			lossless: false,
			negotiated: false,
		}).catch((e: unknown) => e);
		// libjpeg refuses an empty image through error_exit, mid-call.
		expect(err).toBeInstanceOf(InternalError);
		expect(err).toMatchObject({ status: 500, publicMessage: "Could not encode image" });
		expect((err as InternalError).message).toMatch(/^encode jpeg: LibjpegError: Empty JPEG image/);
		expect(codecStats.traps).toBe(traps + 1);
		const src = await decodeJpeg(await fixtureBytes("originals/2025/09/autumn-tiny.jpg"));
		const ok = await encodeImage(src, {
			format: "jpeg",
			settings,
			lossless: false,
			negotiated: false,
		});
		expect((await decode(ok)).width).toBe(src.width);
	});

	it("a non-Error thrown outside any typed path: 500 text, no-store, not a crash", async () => {
		const recorder = recordingBucket();
		// An R2 object whose metadata copy throws a string (the worker's own
		// code path after R2 answered, not wrapped by the storage layer).
		const bucket = {
			...recorder.bucket,
			head: async (key: string) => {
				const object = await env.ORIGINALS.head(key);
				if (!object) return null;
				return Object.assign(Object.create(object), {
					writeHttpMetadata: () => {
						throw "not an Error";
					},
				});
			},
		} as unknown as R2Bucket;
		const res = await call(url("original.jpg"), workerEnv({ ORIGINALS: bucket }), {
			method: "HEAD",
		});
		expect(res.status).toBe(500);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(res.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
		const get = await call(url("original.jpg"), workerEnv({ ORIGINALS: bucket }));
		expect(get.status).toBe(200);
	});
});

describe("bursts", () => {
	// Through SELF: each request has its own request context, as in production.
	// workerd cancels a request that awaits another request's pending promise
	// as "hung" (see src/util/shared.ts); calling the handler directly would hide that.
	it("50 concurrent requests for one cold derivative: identical bytes, one decode", async () => {
		const decodes = codecStats.decodes;
		const responses = await Promise.all(
			Array.from({ length: 50 }, () => SELF.fetch(url("burst-150x150.jpg"))),
		);
		const bodies = await Promise.all(
			responses.map(async (r) => new Uint8Array(await r.arrayBuffer())),
		);
		expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
		for (const body of bodies) expect(body).toEqual(bodies[0]);
		expect(codecStats.decodes - decodes).toBe(1);
		expect((await decode(bodies[0] ?? new Uint8Array())).width).toBe(150);
	});

	it("every registered size of a large source at once, from separate requests", async () => {
		const src = await fixtureBytes(
			"originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg",
		);
		await env.ORIGINALS.put(`${DIR}wide-scaled.jpeg`, src);
		const sizes = ["150x150", "730x487", "510x320", "600x420", "800x340", "1200x628", "1200x800"];
		const decodes = codecStats.decodes;
		renderGate.peak = 0;
		const responses = await Promise.all(sizes.map((s) => SELF.fetch(url(`wide-${s}.jpeg`))));
		expect(responses.map((r) => r.status)).toEqual(sizes.map(() => 200));
		// Its shared decode (6/8: 1920x1280) would pass STREAM_ABOVE_BYTES, so
		// each size streams at its own scale: one decode each, two at a time;
		// smaller sources share decodes (tier.integration's "coalescing").
		expect(codecStats.decodes - decodes).toBe(sizes.length);
		expect(renderGate.peak).toBe(2);
		for (const [k, res] of responses.entries()) {
			const img = await decode(await res.arrayBuffer());
			expect(`${img.width}x${img.height}`).toBe(sizes[k]);
		}
	});

	it("20 concurrent misses for different sizes of the largest accepted source all complete", async () => {
		// 3464 x 2309 = 7,998,376 px: just under the 8 MP that PNG/WebP may have
		// (MAX_SOURCE_PIXELS_WHOLE); its sizes here share one decode (no streaming).
		const width = 3464;
		const height = 2309;
		const data = new Uint8ClampedArray(width * height * 4);
		for (let y = 0; y < height; y++) {
			for (let x = 0; x < width; x++) {
				const i = (y * width + x) * 4;
				data[i] = (x * 255) / width;
				data[i + 1] = (y * 255) / height;
				data[i + 2] = ((x ^ y) & 0x3f) * 4;
				data[i + 3] = 255;
			}
		}
		const jpeg = await encodeJpeg({ data, width, height }, { quality: 70, progressive: false });
		await env.ORIGINALS.put(`${DIR}largest.jpg`, jpeg);
		// Measure the worker's heaps, not the one that just encoded the source.
		resetCodecs();
		const shed = codecStats.shed;
		// Twenty hard-cropped sizes, all smaller than the source.
		const sizes = Object.fromEntries(
			Array.from({ length: 20 }, (_, k) => [
				`s${k}`,
				{ width: 100 + k * 37, height: 80 + ((k * 53) % 300), crop: true },
			]),
		);
		const big = workerEnv({ IMAGE_SIZES: JSON.stringify(sizes) });
		const decodes = codecStats.decodes;
		renderGate.peak = 0;
		const started = Date.now();
		const responses = await Promise.all(
			Object.values(sizes).map((s) => call(url(`largest-${s.width}x${s.height}.jpg`), big)),
		);
		const elapsed = Date.now() - started;
		expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
		// Different sizes of one upload share its decodes (render/sources.ts):
		// the first at its own (shrink-on-load) scale, then, as soon as a larger
		// size finds it too small, one at the scale every size needs.
		expect(codecStats.decodes - decodes).toBeGreaterThanOrEqual(1);
		expect(codecStats.decodes - decodes).toBeLessThanOrEqual(2);
		for (const [k, res] of responses.entries()) {
			const img = await decode(await res.arrayBuffer());
			const size = sizes[`s${k}`];
			expect([img.width, img.height]).toEqual([size?.width, size?.height]);
		}
		// Never more than the gate's two renders in memory at once.
		expect(renderGate.peak).toBeLessThanOrEqual(renderGate.slots);
		const peaks = wasmPeakMemory();
		const peak = Object.values(peaks).reduce((a, b) => a + b, 0);
		const now = await wasmMemory();
		const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
		const list = (r: Record<string, number>) =>
			Object.entries(r)
				.map(([k, v]) => `${k} ${mb(v)}`)
				.join(", ");
		console.log(
			`20 concurrent misses of a ${width}x${height} source: ${elapsed} ms; renders at once ≤ ${renderGate.peak}; ` +
				`peak WASM heaps ${list(peaks)} (sum ${mb(peak)}); after: ${list(now)}; ` +
				`decoded RGBA per render ${mb(width * height * 4)}; instances shed ${codecStats.shed - shed}`,
		);
		// Big heaps are let go after the call instead of being kept for the
		// isolate's life: afterwards every codec is back under the threshold.
		// (With one shared decode and the filter's pixel budget, no heap may
		// pass the threshold at all; then nothing needs shedding.)
		const overThreshold = Object.values(peaks).some((v) => v > KEEP_HEAP_BYTES);
		if (overThreshold) expect(codecStats.shed - shed).toBeGreaterThan(0);
		// Even added up as if all three peaked at once, the heaps fit a Worker's 128 MiB.
		expect(peak).toBeLessThan(128 * 2 ** 20);
		for (const v of Object.values(now)) expect(v).toBeLessThanOrEqual(KEEP_HEAP_BYTES);
	});
});
