/**
 * Big JPEG originals in bounded memory (render/stream.ts): a 100 MP photo's
 * every registered size through the real worker with exact dimensions, the
 * WASM heaps and the pixels JS holds within 96 MB, 20 concurrent misses; and
 * the streamed path gives the shared whole-decode path's pixels for every
 * size of the seed photo and of every EXIF orientation.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImage } from "../src/image/formats";
import { codecStats, resetCodecs, wasmPeakMemory } from "../src/image/wasm-lazy";
import worker from "../src/index";
import { PASS_OUTPUT_BYTES } from "../src/render/stream";
import { streamedOriginals as originals, renderGate, sources } from "../src/state";
import { fixtureBytes } from "./helpers";
import { decode, seed } from "./images";
import { expectStreamedLikeWhole } from "./streamed";
import { call, recordingBucket, workerEnv } from "./worker";

const BIG_DIR = "2025/12/";
const MB = 2 ** 20;
const url = (dir: string, file: string) => `http://images.test/files/${dir}${file}`;
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

let bigBytes = 0;
beforeAll(async () => {
	const big = await fixtureBytes("originals/2025/12/big-100mp.jpeg");
	bigBytes = big.byteLength;
	await env.ORIGINALS.put(`${BIG_DIR}big.jpeg`, big);
	for (let k = 0; k < 20; k++) await env.ORIGINALS.put(`${BIG_DIR}many-${k}.jpeg`, big);
	await seed(
		"AdobeStock_1228396051_Editorial_Use_Only.jpeg",
		"AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg",
	);
	for (let o = 1; o <= 8; o++) {
		await env.ORIGINALS.put(
			`${BIG_DIR}o${o}.jpg`,
			await fixtureBytes(`hostile/orientation-${o}.jpg`),
		);
	}
});

// Default WordPress sizes (1536x1536 and 2048x2048 are core's) plus the registry's.
const SIZES = {
	thumbnail: { width: 150, height: 150, crop: true },
	bd: { width: 730, height: 487, crop: false },
	sm: { width: 510, height: 320, crop: true },
	lg: { width: 800, height: 340, crop: true },
	fb: { width: 1200, height: 628, crop: true },
	"post-thumbnail": { width: 1200, height: 800, crop: false },
	"1536x1536": { width: 1536, height: 1536, crop: false },
	"2048x2048": { width: 2048, height: 2048, crop: false },
};
const BIG_FILES = [
	"150x150",
	"730x487",
	"510x320",
	"800x340",
	"1200x628",
	"1200x800",
	"1536x1024",
	"2048x1365",
];

describe("a 100 MP JPEG (12240x8160) in bounded memory", () => {
	it("serves every registered size with exact dimensions; WASM peaks + JS-held pixels ≤ 96 MB", async () => {
		const vars = workerEnv({ IMAGE_SIZES: JSON.stringify(SIZES) });
		resetCodecs();
		sources.forget();
		originals.forget();
		let outputs = 0;
		const times: string[] = [];
		const counts: number[] = [];
		for (const file of BIG_FILES) {
			const started = Date.now();
			const before = codecStats.decodes;
			const res = await call(url(BIG_DIR, `big-${file}.jpeg`), vars);
			counts.push(codecStats.decodes - before);
			expect(res.status, file).toBe(200);
			const img = await decode(await res.arrayBuffer());
			expect(`${img.width}x${img.height}`).toBe(file);
			outputs = Math.max(outputs, img.width * img.height * 4);
			times.push(`${file} ${Date.now() - started} ms`);
		}
		// Streamed, never a shared whole decode: each miss streams its own size
		// (the queue consumer, in this isolate too, may stream others meanwhile),
		// so no more than one streamed decode per size made, 8 sizes here, twice over.
		expect(sources.heldBytes).toBe(0);
		expect(sum(Object.fromEntries(counts.entries()))).toBeLessThanOrEqual(2 * BIG_FILES.length);
		const peaks = wasmPeakMemory();
		// JS holds the compressed file (shared by the sizes), a fan-out pass's
		// outputs, and the size being encoded, resized and then oriented.
		const held = bigBytes + PASS_OUTPUT_BYTES + 2 * outputs;
		console.log(
			`100 MP: ${times.join(", ")}; peak WASM ${Object.entries(peaks)
				.map(([k, v]) => `${k} ${mb(v)}`)
				.join(", ")} (sum ${mb(sum(peaks))}); JS-held ${mb(held)}`,
		);
		expect(sum(peaks) + held).toBeLessThanOrEqual(96 * MB);
	});

	it("the queue makes every size from one streamed decode per pass of sizes, not one per size", async () => {
		const vars = workerEnv({ IMAGE_SIZES: JSON.stringify(SIZES) });
		sources.forget();
		originals.forget();
		await env.ORIGINALS.put(
			`${BIG_DIR}queued.jpeg`,
			await fixtureBytes("originals/2025/12/big-100mp.jpeg"),
		);
		const job = {
			type: "sizes",
			upload: `${BIG_DIR}queued.jpeg`,
			generation: 0,
			formats: ["jpeg"],
		};
		const batch = createMessageBatch("wp-edge-images-work", [
			{ id: "big-1", timestamp: new Date(), attempts: 1, body: job },
		]);
		const ctx = createExecutionContext();
		const before = codecStats.decodes;
		await worker.queue(batch, vars, ctx);
		expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["big-1"]);
		const decodes = codecStats.decodes - before;
		// 8 sizes, 28 MB of output in all: 4 passes within PASS_OUTPUT_BYTES (8 MiB).
		expect(decodes).toBeLessThanOrEqual(4);
		expect(sources.heldBytes).toBe(0);
		for (const file of BIG_FILES) {
			const stored = await env.DERIVATIVES.get(`${BIG_DIR}queued-${file}.jpeg`);
			expect(stored, file).not.toBeNull();
			const img = await decode(await (stored as R2ObjectBody).arrayBuffer());
			expect(`${img.width}x${img.height}`).toBe(file);
		}
	});

	it("20 concurrent misses of big sources (20 uploads) all complete", async () => {
		resetCodecs();
		originals.forget();
		renderGate.peak = 0;
		const sizes = ["150x150", "730x487", "1200x800", "510x320"];
		const started = Date.now();
		const responses = await Promise.all(
			Array.from({ length: 20 }, (_, k) =>
				call(url(BIG_DIR, `many-${k}-${sizes[k % sizes.length]}.jpeg`)),
			),
		);
		const elapsed = Date.now() - started;
		expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
		for (const [k, res] of responses.entries()) {
			const img = await decode(await res.arrayBuffer());
			expect(`${img.width}x${img.height}`).toBe(sizes[k % sizes.length]);
		}
		expect(renderGate.peak).toBeLessThanOrEqual(renderGate.slots);
		// Streamed (the 1200x800's shared decode would be 25 MB): no decode held.
		expect(sources.heldBytes).toBe(0);
		expect(originals.heldBytes).toBeGreaterThan(0);
		const peaks = wasmPeakMemory();
		console.log(`20 concurrent big misses: ${elapsed} ms; peak WASM sum ${mb(sum(peaks))}`);
		// Two renders at once, each holding its output (resized and oriented), one
		// fan-out pass's outputs, and the compressed files within their budget.
		const held = originals.budgetBytes + 2 * 2 * 1200 * 800 * 4 + PASS_OUTPUT_BYTES;
		expect(sum(peaks) + held).toBeLessThanOrEqual(96 * MB);
	});
});

describe("the streamed path makes the shared whole-decode path's pixels", () => {
	const compare = (dir: string, name: string, ext: string) =>
		expectStreamedLikeWhole({ dir, name, ext }, "jpeg", decode, 45);

	it("every size of the seed photo", async () => {
		await compare("2025/09/", "AdobeStock_1228396051_Editorial_Use_Only", "jpeg");
	});

	it.each([1, 2, 3, 4, 5, 6, 7, 8])(
		"every size of an upload with EXIF orientation %i",
		async (o) => {
			await compare(BIG_DIR, `o${o}`, "jpg");
		},
	);
});

describe("limits: baseline JPEG and non-interlaced PNG stream, the rest stops at MAX_SOURCE_PIXELS_WHOLE", () => {
	beforeAll(async () => {
		await seed("garden-progressive.jpg", "colorful-cups.jpg", "badge-interlaced.png");
		await env.ORIGINALS.put(
			`${BIG_DIR}goldfish.png`,
			await fixtureBytes("originals/2025/09/goldfish.png"),
		);
	});

	it.each([
		["2025/09/", "garden-progressive-150x150.jpg", 422, "progressive JPEG"],
		["2025/09/", "badge-interlaced-150x150.png", 422, "interlaced PNG"],
		[BIG_DIR, "goldfish-150x150.png", 200, ""],
		["2025/09/", "colorful-cups-150x150.jpg", 200, ""],
	])("%s%s: %i %s, refused from the header", async (dir, file, status, kind) => {
		const recorder = recordingBucket();
		const vars = workerEnv({ ORIGINALS: recorder.bucket, MAX_SOURCE_PIXELS_WHOLE: "100000" });
		const res = await call(`http://whole.test/files/${dir}${file}`, vars);
		expect(res.status).toBe(status);
		if (status === 422) {
			expect(await res.text()).toContain(`(${kind}) (limit MAX_SOURCE_PIXELS_WHOLE)`);
			// The requested name itself may be read first (a file stored under it); the original never.
			const full = recorder.reads.filter((r) => r.how === "full" && r.key !== `${dir}${file}`);
			expect(full).toEqual([]);
		} else {
			const bytes = new Uint8Array(await res.arrayBuffer());
			const out = file.endsWith(".png") ? await decodeImage("png", bytes) : await decode(bytes);
			expect([out.width, out.height]).toEqual([150, 150]);
		}
	});

	it("the 100 MP JPEG is over a lower MAX_SOURCE_PIXELS: 422 before its download", async () => {
		const recorder = recordingBucket();
		const vars = workerEnv({ ORIGINALS: recorder.bucket, MAX_SOURCE_PIXELS: "99000000" });
		// Another host: the size this file's first test served is cached under images.test.
		const res = await call(`http://limits.test/files/${BIG_DIR}big-150x150.jpeg`, vars);
		expect(res.status).toBe(422);
		expect(await res.text()).toMatch(/12240x8160.*MAX_SOURCE_PIXELS\)/);
		const requested = `${BIG_DIR}big-150x150.jpeg`;
		expect(recorder.reads.filter((r) => r.how === "full" && r.key !== requested)).toEqual([]);
	});
});
