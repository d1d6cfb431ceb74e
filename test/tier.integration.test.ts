/**
 * Decode once, fan out through the work queue: concurrent misses for any
 * sizes of one upload share one decode; a miss renders only its own size,
 * keeps it in the DERIVATIVES tier and enqueues "make the other sizes", which
 * the consumer makes from one decode; a later miss (edge cache empty, no
 * decoded pixels in memory) is served from the tier without a decode. Real R2
 * objects, real JPEG bytes; the queue consumer is the worker's own handler.
 */
import {
	createExecutionContext,
	createMessageBatch,
	env,
	getQueueResult,
	SELF,
	waitOnExecutionContext,
} from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { cacheKeyRequest, cacheKeyUrl } from "../src/cache/keys";
import { loadConfig } from "../src/config";
import { variesByAccept } from "../src/http/negotiate";
import { decodePng } from "../src/image/png";
import { codecStats } from "../src/image/wasm-lazy";
import worker from "../src/index";
import { extensionFormat } from "../src/origin/extensions";
import { OPTIMIZE_MAX_PIXELS } from "../src/queue/optimize";
import { derivativeSettings } from "../src/render/settings";
import { hot, sources } from "../src/state";
import { firstDifference, fixtureBytes } from "./helpers";
import { decode, psnr } from "./images";

const HOST = "http://tier.test";
const GARDEN = "originals/2025/09/garden-progressive.jpg";
/** What WordPress makes for the 1200x750 garden photo with the registered sizes. */
const GARDEN_SIZES = ["150x150", "730x456", "510x320", "600x420", "800x340", "1200x628"];

let n = 0;
/** A fresh upload key per test, so no memo, decoded source or tier object is shared. */
async function freshUpload(): Promise<string> {
	const name = `t${++n}-${crypto.randomUUID().slice(0, 8)}`;
	await env.ORIGINALS.put(`tier/${name}.jpg`, await fixtureBytes(GARDEN));
	return name;
}

const url = (name: string, size: string) => `${HOST}/files/tier/${name}-${size}.jpg`;

/** Empty the edge cache entry of a size in its own format, as the serving path keys it (default config). */
async function evict(name: string, size: string, ext = "jpg"): Promise<void> {
	const config = loadConfig(env);
	const own = extensionFormat(ext) ?? "jpeg";
	const settings = derivativeSettings(config, variesByAccept(own, config.autoFormat));
	const key = cacheKeyUrl(HOST, config.mountPath, `tier/${name}-${size}.${ext}`, { settings });
	expect(await caches.default.delete(cacheKeyRequest(key))).toBe(true);
	hot.delete(key); // and from the isolate's memory in front of it
}

/** Messages the worker sent to its work queue, kept for the test to deliver. */
const sent: unknown[] = [];
const recordingQueue = {
	async send(body: unknown) {
		sent.push(body);
	},
	async sendBatch(batch: Iterable<{ body: unknown }>) {
		for (const m of batch) sent.push(m.body);
	},
} as unknown as Queue;

/**
 * One request through the worker, waiting for its waitUntil work (tier put,
 * enqueue). Its queue records what is sent, so the test delivers it itself.
 */
async function fetchAndSettle(
	target: string,
	vars: Record<string, unknown> = {},
	headers: HeadersInit = {},
) {
	const ctx = createExecutionContext();
	const request = new Request(target, { headers }) as Request<unknown, IncomingRequestCfProperties>;
	const bound = { ...env, DERIVATIVE_QUEUE: recordingQueue, ...vars } as Env;
	const response = await worker.fetch(request, bound, ctx);
	const bytes = new Uint8Array(await response.arrayBuffer());
	await waitOnExecutionContext(ctx);
	return { response, bytes };
}

let ids = 0;
/** Deliver message bodies to the worker's queue() handler as one batch. */
async function deliver(bodies: readonly unknown[], vars: Record<string, unknown> = {}) {
	const batch = createMessageBatch(
		"wp-edge-images-work",
		bodies.map((body) => ({ id: `m${++ids}`, timestamp: new Date(), attempts: 1, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, { ...env, ...vars } as Env, ctx);
	return getQueueResult(batch, ctx);
}

/** Deliver (and forget) everything the worker has sent so far. */
async function deliverSent(vars: Record<string, unknown> = {}) {
	const bodies = sent.splice(0);
	return { bodies, result: await deliver(bodies, vars) };
}

beforeEach(() => {
	sources.forget();
	sent.length = 0;
});

describe("coalescing", () => {
	it("N concurrent misses for different sizes of one upload share at most two decodes", async () => {
		const name = await freshUpload();
		const sizes = ["150x150", "150x150", "150x150", "730x456", "510x320", "600x420", "800x340"];
		const before = codecStats.decodes;
		// Through the real handler, each with its own context, so the test can
		// wait for their background work (tier puts, enqueue) before the next test.
		const ctxs = sizes.map(() => createExecutionContext());
		const responses = await Promise.all(
			sizes.map((s, i) =>
				worker.fetch(
					new Request(url(name, s)) as Request<unknown, IncomingRequestCfProperties>,
					{ ...env, DERIVATIVE_QUEUE: recordingQueue } as Env,
					ctxs[i] as ExecutionContext,
				),
			),
		);
		const bodies = await Promise.all(
			responses.map(async (r) => new Uint8Array(await r.arrayBuffer())),
		);
		await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
		// Each miss decodes at the scale its own size needs, so a thumbnail miss
		// stays fast; a miss finding a smaller decode of the upload running starts
		// the one decode every size can use, and every later miss shares it.
		expect(codecStats.decodes - before).toBeLessThanOrEqual(2);
		for (const [i, res] of responses.entries()) {
			// (a request that starts late may find its size already in the edge cache)
			expect(res.status).toBe(200);
			const out = await decode(bodies[i] as Uint8Array);
			expect(`${out.width}x${out.height}`).toBe(sizes[i]);
		}
		// The three requests for one size got the same bytes from one render.
		expect(bodies[1]).toEqual(bodies[0]);
		expect(bodies[2]).toEqual(bodies[0]);
	});

	it("a size rendered while the pixels are held needs no second decode", async () => {
		const name = await freshUpload();
		const before = codecStats.decodes;
		const off = { DERIVATIVES: undefined };
		// The larger size's decode is large enough for the smaller one.
		expect((await fetchAndSettle(url(name, "1200x628"), off)).response.status).toBe(200);
		expect((await fetchAndSettle(url(name, "150x150"), off)).response.status).toBe(200);
		expect(codecStats.decodes - before).toBe(1);
		// Once forgotten (as after the keep-alive), the next size decodes again.
		sources.forget();
		expect((await fetchAndSettle(url(name, "800x340"), off)).response.status).toBe(200);
		expect(codecStats.decodes - before).toBe(2);
	});
});

describe("shrink-on-load (JPEG decoded at M/8 of its size)", () => {
	/** The garden photo is 1200x750. */
	const FULL = 1200 * 750;
	/** Pixels of its decode at m/8 (libjpeg rounds each side up). */
	const at = (m: number) => Math.ceil((1200 * m) / 8) * Math.ceil((750 * m) / 8);

	it.each([
		// size, most pixels its decode may have (RESIZE.decodeGap leaves the
		// filter ≥1.5x to reduce): a thumbnail needs a quarter of the pixels at
		// most, a size as wide as the photo all of them
		["150x150", at(3)],
		["510x320", at(6)],
		["1200x628", at(8)],
	])("without a tier, a %s miss decodes only what it needs", async (size, most) => {
		const name = await freshUpload();
		const before = { ...codecStats };
		const miss = await fetchAndSettle(url(name, size), { DERIVATIVES: undefined });
		expect(miss.response.status).toBe(200);
		expect(codecStats.decodes - before.decodes).toBe(1);
		const pixels = codecStats.decodedPixels - before.decodedPixels;
		expect(pixels).toBeLessThanOrEqual(most);
		expect(pixels).toBeGreaterThan(0);
		const out = await decode(miss.bytes);
		expect(`${out.width}x${out.height}`).toBe(size);
	});

	it("a smaller decode does not serve a larger size: that one decodes again, larger", async () => {
		const name = await freshUpload();
		const before = { ...codecStats };
		const off = { DERIVATIVES: undefined };
		expect((await fetchAndSettle(url(name, "150x150"), off)).response.status).toBe(200);
		const small = codecStats.decodedPixels - before.decodedPixels;
		const big = await fetchAndSettle(url(name, "1200x628"), off);
		expect(big.response.status).toBe(200);
		expect(codecStats.decodes - before.decodes).toBe(2);
		expect(codecStats.decodedPixels - before.decodedPixels - small).toBe(FULL);
		const out = await decode(big.bytes);
		expect(`${out.width}x${out.height}`).toBe("1200x628");
	});

	it("with the tier and queue bound, a thumbnail miss decodes only what it needs and makes only its size; the consumer makes the rest from one decode", async () => {
		const name = await freshUpload();
		const before = { ...codecStats };
		const miss = await fetchAndSettle(url(name, "150x150"));
		expect(miss.response.status).toBe(200);
		expect(codecStats.decodes - before.decodes).toBe(1);
		expect(codecStats.encodes - before.encodes).toBe(1);
		expect(codecStats.decodedPixels - before.decodedPixels).toBeLessThanOrEqual(at(3));
		const afterMiss = await env.DERIVATIVES.list({ prefix: `tier/${name}-` });
		expect(afterMiss.objects.map((o) => o.key)).toEqual([`tier/${name}-150x150.jpg`]);
		// One job for the upload, at its generation, in the formats it may be served in.
		expect(sent).toEqual([
			{ type: "sizes", upload: `tier/${name}.jpg`, generation: 0, formats: ["jpeg"] },
		]);
		sources.forget();
		const mid = { ...codecStats };
		const { result } = await deliverSent();
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		// One decode, at the scale every size needs (the garden photo's 1200 px size: all of it).
		expect(codecStats.decodes - mid.decodes).toBe(1);
		expect(codecStats.decodedPixels - mid.decodedPixels).toBe(FULL);
		expect(codecStats.encodes - mid.encodes).toBe(GARDEN_SIZES.length - 1);
		const listed = await env.DERIVATIVES.list({ prefix: `tier/${name}-` });
		expect(listed.objects).toHaveLength(GARDEN_SIZES.length);
	});
});

describe("derivative tier", () => {
	it("a miss fills DERIVATIVES with every size; a later miss is served from it without a decode", async () => {
		const name = await freshUpload();
		const first = await fetchAndSettle(url(name, "150x150"));
		expect(first.response.status).toBe(200);
		expect(first.response.headers.get("Server-Timing")).toMatch(/decode;dur=/);
		await deliverSent();

		// The miss and the queue consumer stored every size WordPress makes, with its record.
		const listed = await env.DERIVATIVES.list({
			prefix: `tier/${name}-`,
			include: ["customMetadata"],
		});
		expect(listed.objects.map((o) => o.key).sort()).toEqual(
			GARDEN_SIZES.map((s) => `tier/${name}-${s}.jpg`).sort(),
		);
		for (const object of listed.objects) {
			// A never-purged image is at generation 0 (src/cache/generation.ts).
			expect(object.customMetadata?.generation).toBe("0");
			expect(object.customMetadata?.etag).toMatch(/^"[0-9a-f]{32}"$/);
		}
		const stored150 = listed.objects.find((o) => o.key.endsWith("-150x150.jpg"));
		expect(stored150?.customMetadata?.etag).toBe(first.response.headers.get("ETag"));
		// Nothing was written to the uploads bucket.
		const originals = await env.ORIGINALS.list({ prefix: `tier/${name}` });
		expect(originals.objects.map((o) => o.key)).toEqual([`tier/${name}.jpg`]);

		// Cold edge cache, no decoded pixels in memory: an R2 read, not a decode.
		sources.forget();
		await evict(name, "150x150");
		for (const size of ["730x456", "150x150"]) {
			const before = codecStats.decodes;
			const miss = await fetchAndSettle(url(name, size));
			// (read before the test decodes the bytes itself)
			expect(codecStats.decodes - before).toBe(0);
			expect(miss.response.status).toBe(200);
			expect(miss.response.headers.get("X-Cache")).toBe("MISS");
			expect(miss.response.headers.get("Server-Timing")).toMatch(/tier;dur=/);
			const object = await env.DERIVATIVES.get(`tier/${name}-${size}.jpg`);
			expect(miss.bytes).toEqual(new Uint8Array(await (object as R2ObjectBody).arrayBuffer()));
			expect(miss.response.headers.get("ETag")).toBe(object?.customMetadata?.etag);
			const out = await decode(miss.bytes);
			expect(`${out.width}x${out.height}`).toBe(size);
		}

		// The stored bytes are what a fresh render of that size gives.
		await evict(name, "730x456");
		const fresh = await fetchAndSettle(url(name, "730x456"), { DERIVATIVES: undefined });
		expect(fresh.response.headers.get("Server-Timing")).toMatch(/decode;dur=/);
		const stored = await env.DERIVATIVES.get(`tier/${name}-730x456.jpg`);
		expect(fresh.bytes).toEqual(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer()));

		const hit = await SELF.fetch(url(name, "730x456"));
		expect(hit.headers.get("X-Cache")).toBe("HIT");
	});

	it("ignores a stored object made for another ETag or generation, and replaces it", async () => {
		const name = await freshUpload();
		const key = `tier/${name}-510x320.jpg`;
		const bogus = await fixtureBytes("originals/2025/09/autumn-tiny.jpg");
		await env.DERIVATIVES.put(key, bogus, {
			customMetadata: { etag: '"0123456789abcdef0123456789abcdef"', generation: "0" },
		});
		const before = codecStats.decodes;
		const miss = await fetchAndSettle(url(name, "510x320"));
		expect(miss.response.status).toBe(200);
		expect(miss.response.headers.get("Server-Timing")).toMatch(/decode;dur=/);
		expect(codecStats.decodes - before).toBe(1);
		const out = await decode(miss.bytes);
		expect([out.width, out.height]).toEqual([510, 320]);
		const stored = await env.DERIVATIVES.get(key);
		expect(stored?.customMetadata?.etag).toBe(miss.response.headers.get("ETag"));
		expect(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer())).toEqual(miss.bytes);

		// Same ETag, other generation (a purge happened): ignored too.
		await env.DERIVATIVES.put(key, bogus, {
			customMetadata: { etag: miss.response.headers.get("ETag") ?? "", generation: "99" },
		});
		await evict(name, "510x320");
		const again = await fetchAndSettle(url(name, "510x320"));
		expect(again.response.status).toBe(200);
		expect(again.bytes).not.toEqual(bogus);
		expect(psnr(await decode(again.bytes), out)).toBeGreaterThan(45);
	});

	it("a registry change (IMAGE_SIZES) reads the tier objects back: a size's bytes do not depend on the others", async () => {
		const name = await freshUpload();
		const first = await fetchAndSettle(url(name, "150x150"));
		expect(first.response.status).toBe(200);
		await deliverSent();
		const stored = await env.DERIVATIVES.head(`tier/${name}-510x320.jpg`);
		expect(stored?.customMetadata?.etag).toMatch(/^"[0-9a-f]{32}"$/);
		sources.forget();
		hot.clear();
		const before = codecStats.decodes;
		// The same 510x320 crop, under another size registry: same geometry and
		// encoder, so the same ETag, read back from the tier with no decode.
		const sizes = JSON.stringify({ card: { width: 510, height: 320, crop: true } });
		const changed = await fetchAndSettle(url(name, "510x320"), { IMAGE_SIZES: sizes });
		expect(changed.response.status).toBe(200);
		expect(changed.response.headers.get("ETag")).toBe(stored?.customMetadata?.etag);
		expect(changed.response.headers.get("Server-Timing")).toMatch(/tier;dur=/);
		expect(codecStats.decodes - before).toBe(0);
	});

	it("an encoder change (JPEG_QUALITY) ignores the tier objects made under the old settings", async () => {
		const name = await freshUpload();
		const first = await fetchAndSettle(url(name, "150x150"));
		expect(first.response.status).toBe(200);
		await deliverSent();
		const stored = await env.DERIVATIVES.head(`tier/${name}-510x320.jpg`);
		expect(stored?.customMetadata?.etag).toMatch(/^"[0-9a-f]{32}"$/);
		sources.forget();
		const before = codecStats.decodes;
		const changed = await fetchAndSettle(url(name, "510x320"), { JPEG_QUALITY: "60" });
		expect(changed.response.status).toBe(200);
		expect(changed.response.headers.get("X-Cache")).toBe("MISS");
		// Rendered again (not read back from the tier), as a new ETag.
		expect(changed.response.headers.get("Server-Timing")).toMatch(/decode;dur=/);
		expect(codecStats.decodes - before).toBe(1);
		expect(changed.response.headers.get("ETag")).not.toBe(stored?.customMetadata?.etag);
		const out = await decode(changed.bytes);
		expect([out.width, out.height]).toEqual([510, 320]);
	});

	it("a redelivered job finds every size stored and makes nothing", async () => {
		const name = await freshUpload();
		const job = { type: "sizes", upload: `tier/${name}.jpg`, generation: 0, formats: ["jpeg"] };
		expect((await deliver([job])).explicitAcks).toHaveLength(1);
		const first = await env.DERIVATIVES.list({
			prefix: `tier/${name}-`,
			include: ["customMetadata"],
		});
		expect(first.objects).toHaveLength(GARDEN_SIZES.length);
		sources.forget();
		const before = { ...codecStats };
		const again = await deliver([job, job]);
		expect(again.explicitAcks).toHaveLength(2);
		expect(codecStats.decodes - before.decodes).toBe(0);
		expect(codecStats.encodes - before.encodes).toBe(0);
		const second = await env.DERIVATIVES.list({
			prefix: `tier/${name}-`,
			include: ["customMetadata"],
		});
		expect(second.objects.map((o) => [o.key, o.etag])).toEqual(
			first.objects.map((o) => [o.key, o.etag]),
		);
	});

	it("a miss enqueues its upload's job once per isolate and generation", async () => {
		const name = await freshUpload();
		await fetchAndSettle(url(name, "150x150"));
		await fetchAndSettle(url(name, "510x320"));
		expect(sent).toHaveLength(1);
	});

	it("without a queue binding every size is still served, and nothing fans out", async () => {
		const name = await freshUpload();
		const off = { DERIVATIVE_QUEUE: undefined };
		for (const size of ["150x150", "800x340"]) {
			const miss = await fetchAndSettle(url(name, size), off);
			expect(miss.response.status).toBe(200);
			const out = await decode(miss.bytes);
			expect(`${out.width}x${out.height}`).toBe(size);
		}
		const listed = await env.DERIVATIVES.list({ prefix: `tier/${name}-` });
		expect(listed.objects.map((o) => o.key).sort()).toEqual(
			[`tier/${name}-150x150.jpg`, `tier/${name}-800x340.jpg`].sort(),
		);
		expect(sent).toEqual([]);
	});

	it("without a DERIVATIVES binding nothing is stored and every miss renders", async () => {
		const name = await freshUpload();
		const off = { DERIVATIVES: undefined };
		const first = await fetchAndSettle(url(name, "150x150"), off);
		expect(first.response.status).toBe(200);
		const listed = await env.DERIVATIVES.list({ prefix: `tier/${name}-` });
		expect(listed.objects).toEqual([]);
	});
});

describe("PNG sizes: oxipng in the queue only, its file kept in the tier when ≥ 5% smaller", () => {
	/** 1400x923 RGBA photo: oxipng (PNG_LEVEL 1) saved 9-12% on every size of it. */
	const GOLDFISH = "originals/2025/09/goldfish.png";
	/** 600x400 palette logo: oxipng saved nothing on its 150x150 and 510x320, 9.5% on its 600x340. */
	const LOGO = "originals/2025/09/logo-palette.png";
	/** 2560x1440 screenshot. */
	const DASHBOARD = "originals/2025/09/dashboard-screenshot.png";

	async function freshPng(fixture: string): Promise<string> {
		const name = `p${++n}-${crypto.randomUUID().slice(0, 8)}`;
		await env.ORIGINALS.put(`tier/${name}.png`, await fixtureBytes(fixture));
		return name;
	}
	const pngUrl = (name: string, size: string) => `${HOST}/files/tier/${name}-${size}.png`;

	/** The tier's object for a size: bytes and record. */
	async function stored(name: string, size: string) {
		const object = (await env.DERIVATIVES.get(`tier/${name}-${size}.png`)) as R2ObjectBody;
		return { bytes: new Uint8Array(await object.arrayBuffer()), meta: object.customMetadata ?? {} };
	}

	/** What the request path's encoder makes for a size (no tier, so always rendered). */
	async function rendered(name: string, size: string, vars: Record<string, unknown> = {}) {
		const miss = await fetchAndSettle(pngUrl(name, size), { ...vars, DERIVATIVES: undefined });
		expect(miss.response.headers.get("Server-Timing")).toMatch(/encode;dur=/);
		return { bytes: miss.bytes, etag: miss.response.headers.get("ETag") };
	}

	/** oxipng's file against ours: ≥ 5% smaller, decoding to exactly the same pixels. */
	async function expectOptimised(smaller: Uint8Array, ours: Uint8Array) {
		expect(smaller.byteLength).toBeLessThanOrEqual(ours.byteLength * 0.95);
		const [a, b] = await Promise.all([decodePng(smaller), decodePng(ours)]);
		expect([a.width, a.height]).toEqual([b.width, b.height]);
		expect(firstDifference(a.data, b.data)).toBe(-1);
	}

	it("a miss answers with our encoder's file; the queue replaces it in the tier with oxipng's, which cold-edge misses then get under its own ETag", async () => {
		const name = await freshPng(GOLDFISH);
		const before = codecStats.optimizations;
		const first = await fetchAndSettle(pngUrl(name, "730x481"));
		expect(first.response.status).toBe(200);
		// Never on the request path.
		expect(codecStats.optimizations - before).toBe(0);
		const ours = first.bytes;
		const oursEtag = first.response.headers.get("ETag") as string;
		expect((await stored(name, "730x481")).meta).toEqual({ etag: oursEtag, generation: "0" });

		await deliverSent();
		const listed = await env.DERIVATIVES.list({
			prefix: `tier/${name}-`,
			include: ["customMetadata"],
		});
		expect(listed.objects).toHaveLength(7);
		for (const object of listed.objects) expect(object.customMetadata?.oxipng).toBe("smaller");
		const optimised = await stored(name, "730x481");
		await expectOptimised(optimised.bytes, ours);
		const newEtag = optimised.meta.etag as string;
		expect(newEtag).toMatch(/^"[0-9a-f]{32}"$/);
		expect(newEtag).not.toBe(oursEtag);

		// A cold edge reads oxipng's file from the tier, with its ETag.
		sources.forget();
		await evict(name, "730x481", "png");
		const cold = await fetchAndSettle(pngUrl(name, "730x481"));
		expect(cold.response.headers.get("Server-Timing")).toMatch(/tier;dur=/);
		expect(cold.bytes).toEqual(optimised.bytes);
		expect(cold.response.headers.get("ETag")).toBe(newEtag);

		// Revalidating our encoder's file there gets the new bytes, not a 304.
		await evict(name, "730x481", "png");
		const old = await fetchAndSettle(pngUrl(name, "730x481"), {}, { "If-None-Match": oursEtag });
		expect(old.response.status).toBe(200);
		expect(old.response.headers.get("ETag")).toBe(newEtag);
		expect(old.bytes).toEqual(optimised.bytes);
		// ... and so does a HIT of that entry; the new ETag gets a 304, cold or cached.
		const hit = await fetchAndSettle(pngUrl(name, "730x481"), {}, { "If-None-Match": oursEtag });
		expect([hit.response.status, hit.response.headers.get("X-Cache")]).toEqual([200, "HIT"]);
		const cached = await fetchAndSettle(pngUrl(name, "730x481"), {}, { "If-None-Match": newEtag });
		expect([cached.response.status, cached.response.headers.get("X-Cache")]).toEqual([304, "HIT"]);
		await evict(name, "730x481", "png");
		const same = await fetchAndSettle(pngUrl(name, "730x481"), {}, { "If-None-Match": newEtag });
		expect([same.response.status, same.response.headers.get("ETag")]).toEqual([304, newEtag]);

		// A size only the queue made: oxipng's file of what the request path renders.
		const big = await rendered(name, "1200x791");
		const queued = await stored(name, "1200x791");
		await expectOptimised(queued.bytes, big.bytes);
		expect(queued.meta.etag).not.toBe(big.etag);
	});

	it("where oxipng saves < 5% the tier keeps our encoder's file and ETag; a redelivered job runs no oxipng", async () => {
		const name = await freshPng(LOGO);
		const job = { type: "sizes", upload: `tier/${name}.png`, generation: 0, formats: ["png"] };
		const before = codecStats.optimizations;
		expect((await deliver([job])).explicitAcks).toHaveLength(1);
		expect(codecStats.optimizations - before).toBe(3);
		// Our encoder's logo sizes (libdeflate 7) are within 5% of oxipng's.
		for (const size of ["150x150", "510x320", "600x340"]) {
			const ours = await rendered(name, size);
			const tier = await stored(name, size);
			expect(tier.meta.oxipng, size).toBe("kept");
			expect(tier.bytes).toEqual(ours.bytes);
			expect(tier.meta.etag).toBe(ours.etag);
		}
		const listed = async () =>
			(await env.DERIVATIVES.list({ prefix: `tier/${name}-` })).objects.map((o) => o.etag);
		const first = await listed();
		const again = { ...codecStats };
		expect((await deliver([job])).explicitAcks).toHaveLength(1);
		expect(codecStats.optimizations - again.optimizations).toBe(0);
		expect(codecStats.encodes - again.encodes).toBe(0);
		expect(await listed()).toEqual(first);
	});

	it("requests reaching the consumer's isolate wait for one step of a job, not the whole job", async () => {
		const name = await freshPng(GOLDFISH);
		const job = { type: "sizes", upload: `tier/${name}.png`, generation: 0, formats: ["png"] };
		const started = Date.now();
		let running = true;
		const working = deliver([job]).finally(() => {
			running = false;
		});
		// Seven sizes, each a render then an oxipng pass (the 1200x791's about
		// a third of the job); requests one after another until the job ends.
		let answered = 0;
		let longest = 0;
		while (running) {
			const sent = Date.now();
			await (await SELF.fetch(`${HOST}/files/tier/${name}-1x1.txt`)).arrayBuffer();
			longest = Math.max(longest, Date.now() - sent);
			if (running) answered++;
		}
		expect((await working).explicitAcks).toHaveLength(1);
		// Measured: 9-12 answered, the longest wait 27% of the job; without the
		// yields 2-3 answered, the longest wait 97%.
		expect(answered).toBeGreaterThanOrEqual(5);
		expect(longest).toBeLessThan((Date.now() - started) / 2);
	});

	it(`a size over OPTIMIZE_MAX_PIXELS (${OPTIMIZE_MAX_PIXELS}) is stored as our encoder made it`, async () => {
		const name = await freshPng(DASHBOARD);
		const sizes = {
			thumbnail: { width: 150, height: 150, crop: true },
			// 1920x1080 of the 2560x1440 screenshot: 2.07 MP
			wide: { width: 1920, height: 1920, crop: false },
		};
		const vars = { IMAGE_SIZES: JSON.stringify(sizes) };
		const job = { type: "sizes", upload: `tier/${name}.png`, generation: 0, formats: ["png"] };
		const before = codecStats.optimizations;
		expect((await deliver([job], vars)).explicitAcks).toHaveLength(1);
		expect(codecStats.optimizations - before).toBe(1);
		const wide = await stored(name, "1920x1080");
		expect(wide.meta.oxipng).toBe("too-large");
		const ours = await rendered(name, "1920x1080", vars);
		expect(wide.bytes).toEqual(ours.bytes);
		expect(wide.meta.etag).toBe(ours.etag);
		expect((await stored(name, "150x150")).meta.oxipng).toBe("smaller");
	});
});

describe("bench routes", () => {
	it.each([
		"/__bench/stats",
		"/__bench/plan/tier/x-150x150.jpg",
		"/__bench/all/tier/x-150x150.jpg",
	])("%s does not exist unless BENCH_ROUTES=1", async (path) => {
		expect((await SELF.fetch(`${HOST}${path}`)).status).toBe(404);
		const res = await SELF.fetch(`${HOST}/__bench/reset`, { method: "POST" });
		expect(res.status).toBe(404);
	});
});
