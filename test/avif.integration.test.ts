/**
 * AVIF with AUTO_FORMAT, through the real handler and the real edge cache: a
 * client that takes AVIF gets the AVIF from the tier once the queue made it,
 * and the WebP at once (briefly cached) until then; the AVIF encode never
 * runs on the request path. Cache keys, Vary and ETags stay right for the
 * three Accept classes whichever comes first, and a purge reaches the AVIF.
 */
import {
	createExecutionContext,
	createMessageBatch,
	env,
	getQueueResult,
	waitOnExecutionContext,
} from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { avifPeakHeap } from "../src/image/avif";
import { decodeImage } from "../src/image/formats";
import { detectFormat } from "../src/image/probe";
import { codecStats } from "../src/image/wasm-lazy";
import worker from "../src/index";
import { sources } from "../src/state";
import { fixtureBytes } from "./helpers";
import { psnr } from "./images";

const AVIF = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
const WEBP = "image/webp,*/*";
const PLAIN = "image/png,image/*;q=0.8,*/*;q=0.5";
const HOST = "http://avif.test";

const sent: unknown[] = [];
const recordingQueue = {
	async send(body: unknown) {
		sent.push(body);
	},
} as unknown as Queue;

/** AUTO_FORMAT on; the WebP stand-in is kept five seconds. */
const VARS = { AUTO_FORMAT: "true", AVIF_PENDING_MAX_AGE: "5", DERIVATIVE_QUEUE: recordingQueue };

async function fresh(): Promise<string> {
	const name = `a-${crypto.randomUUID().slice(0, 8)}`;
	await env.ORIGINALS.put(
		`av/${name}.jpg`,
		await fixtureBytes("originals/2025/09/garden-progressive.jpg"),
	);
	return name;
}

async function get(path: string, accept: string, vars: Record<string, unknown> = {}) {
	const ctx = createExecutionContext();
	const request = new Request(`${HOST}${path}`, { headers: { Accept: accept } });
	const response = await worker.fetch(
		request as Request<unknown, IncomingRequestCfProperties>,
		{ ...env, ...VARS, ...vars } as unknown as Env,
		ctx,
	);
	const bytes = new Uint8Array(await response.arrayBuffer());
	await waitOnExecutionContext(ctx);
	const h = (name: string) => response.headers.get(name);
	return {
		status: response.status,
		type: h("Content-Type"),
		cache: h("X-Cache"),
		vary: h("Vary"),
		etag: h("ETag"),
		cacheControl: h("Cache-Control"),
		format: detectFormat(bytes),
		bytes,
	};
}

let ids = 0;
async function runQueue(vars: Record<string, unknown> = {}) {
	const bodies = sent.splice(0);
	const batch = createMessageBatch(
		"wp-edge-images-work",
		bodies.map((body) => ({ id: `a${++ids}`, timestamp: new Date(), attempts: 1, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, { ...env, ...VARS, ...vars } as unknown as Env, ctx);
	const result = await getQueueResult(batch, ctx);
	expect(result.explicitAcks).toHaveLength(bodies.length);
	return bodies;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(() => {
	sources.forget();
	sent.length = 0;
});

describe("AVIF, made by the queue only", () => {
	it("AVIF client first: the WebP at once, briefly cached; the AVIF once the queue made it", async () => {
		const name = await fresh();
		const path = `/files/av/${name}-730x456.jpg`;
		const encoderHeap = avifPeakHeap().encoder;
		const before = codecStats.encodes;
		const first = await get(path, AVIF);
		expect([first.status, first.type, first.format, first.cache, first.vary]).toEqual([
			200,
			"image/webp",
			"webp",
			"MISS",
			"Accept",
		]);
		expect(first.cacheControl).toBe("public, max-age=5");
		// One encode (the WebP); the AVIF encoder was never touched on the request path.
		expect(codecStats.encodes - before).toBe(1);
		expect(avifPeakHeap().encoder).toBe(encoderHeap);
		expect(await env.DERIVATIVES.head(`av/${name}-730x456.jpg.avif`)).toBeNull();
		// The job asks for every format the upload may be served in.
		expect(sent).toEqual([
			{ type: "sizes", upload: `av/${name}.jpg`, generation: 0, formats: ["jpeg", "webp", "avif"] },
		]);

		// Within the stand-in's lifetime the cache answers with it.
		const again = await get(path, AVIF);
		expect([again.cache, again.type, again.etag]).toEqual(["HIT", "image/webp", first.etag]);

		await runQueue();
		const avifObject = await env.DERIVATIVES.head(`av/${name}-730x456.jpg.avif`);
		expect(avifObject).not.toBeNull();
		await sleep(5_200);
		const avif = await get(path, AVIF);
		expect([avif.status, avif.type, avif.format, avif.cache, avif.vary]).toEqual([
			200,
			"image/avif",
			"avif",
			"MISS",
			"Accept",
		]);
		expect(avif.cacheControl).toBe("public, max-age=31536000, immutable");
		expect(avif.etag).toBe(avifObject?.customMetadata?.etag);
		expect(avif.etag).not.toBe(first.etag);
		const pixels = await decodeImage("avif", avif.bytes);
		expect([pixels.width, pixels.height]).toEqual([730, 456]);
		expect(psnr(pixels, await decodeImage("webp", first.bytes))).toBeGreaterThan(30);
		expect(avif.bytes.byteLength).toBeLessThan(first.bytes.byteLength);
		expect((await get(path, AVIF)).cache).toBe("HIT");

		// The other classes keep their own entries.
		const webp = await get(path, WEBP);
		expect([webp.type, webp.etag, webp.vary]).toEqual(["image/webp", first.etag, "Accept"]);
		expect(webp.cacheControl).toBe("public, max-age=31536000, immutable");
		const plain = await get(path, PLAIN);
		expect([plain.type, plain.format, plain.vary]).toEqual(["image/jpeg", "jpeg", "Accept"]);
		expect(new Set([avif.etag, webp.etag, plain.etag]).size).toBe(3);
	});

	it("queue first: a plain client's miss makes the job; then the AVIF client gets AVIF at once", async () => {
		const name = await fresh();
		const path = `/files/av/${name}-510x320.jpg`;
		const plain = await get(path, PLAIN);
		expect([plain.type, plain.cache]).toEqual(["image/jpeg", "MISS"]);
		await runQueue();
		const before = codecStats.decodes;
		const avif = await get(path, AVIF);
		expect([avif.type, avif.format, avif.cache, avif.vary]).toEqual([
			"image/avif",
			"avif",
			"MISS",
			"Accept",
		]);
		// Read from the tier: no decode.
		expect(codecStats.decodes - before).toBe(0);
		const webp = await get(path, WEBP);
		expect([webp.type, webp.cache]).toEqual(["image/webp", "MISS"]);
		const plainAgain = await get(path, PLAIN);
		expect([plainAgain.type, plainAgain.cache, plainAgain.etag]).toEqual([
			"image/jpeg",
			"HIT",
			plain.etag,
		]);
		expect((await get(path, AVIF)).type).toBe("image/avif");
	});

	it("a size whose AVIF would be over the encode budget stays WebP for AVIF clients, with a log line", async () => {
		const name = `c-${crypto.randomUUID().slice(0, 8)}`;
		await env.ORIGINALS.put(
			`av/${name}.jpg`,
			await fixtureBytes("originals/2025/09/colorful-cups.jpg"),
		);
		// 2048x1280 (2.6 MP): an estimated 3.7 s AVIF encode, over AVIF_BUDGET_MS.
		const sizes = {
			IMAGE_SIZES: JSON.stringify({
				huge: { width: 2048, height: 1280, crop: false },
				thumbnail: { width: 150, height: 150, crop: true },
			}),
		};
		const path = `/files/av/${name}-2048x1280.jpg`;
		const big = await get(path, AVIF, sizes);
		expect([big.type, big.cacheControl]).toEqual([
			"image/webp",
			"public, max-age=31536000, immutable",
		]);
		// The very entry a WebP client gets.
		const webp = await get(path, WEBP, sizes);
		expect([webp.cache, webp.etag]).toEqual(["HIT", big.etag]);
		const info = vi.spyOn(console, "log");
		await runQueue(sizes);
		expect(await env.DERIVATIVES.head(`av/${name}-2048x1280.jpg.avif`)).toBeNull();
		expect(await env.DERIVATIVES.head(`av/${name}-150x150.jpg.avif`)).not.toBeNull();
		const lines = info.mock.calls.map((c) => String(c[0])).filter((l) => l.includes("over budget"));
		expect(lines).toHaveLength(1);
		info.mockRestore();
	});

	it("a purge reaches the AVIF: its cache entry and tier object go", async () => {
		const name = await fresh();
		const path = `/files/av/${name}-150x150.jpg`;
		await get(path, PLAIN);
		await runQueue();
		const avif = await get(path, AVIF);
		expect(avif.type).toBe("image/avif");
		expect((await get(path, AVIF)).cache).toBe("HIT");
		const ctx = createExecutionContext();
		const res = await worker.fetch(
			new Request(`${HOST}/_admin/purge`, {
				method: "POST",
				headers: {
					Authorization: `Bearer ${(env as unknown as { ADMIN_TOKEN: string }).ADMIN_TOKEN}`,
					"Content-Type": "application/json",
				},
				body: JSON.stringify({ images: [`av/${name}.jpg`] }),
			}) as Request<unknown, IncomingRequestCfProperties>,
			{ ...env, ...VARS } as unknown as Env,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		expect(res.status).toBe(200);
		expect(await env.DERIVATIVES.head(`av/${name}-150x150.jpg.avif`)).toBeNull();
		const after = await get(path, AVIF);
		// A new generation: not the old entry; WebP until the queue makes the new AVIF.
		expect([after.cache, after.type]).toEqual(["MISS", "image/webp"]);
	});
});
