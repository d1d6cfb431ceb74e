/**
 * The work queue's consumer (the worker's own queue() handler) through
 * workerd: our sizes jobs and R2 event notifications on the uploads bucket,
 * in the shape R2 sends them. A new upload is pre-rendered into the tier; a
 * deleted or overwritten one is purged (generation, tier, zone purge); poison
 * is acknowledged once with a log line. Also: a real miss's job arrives
 * through miniflare's queue. Real R2 objects, real JPEG bytes.
 */
import {
	createExecutionContext,
	createMessageBatch,
	env,
	getQueueResult,
	SELF,
	waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { codecStats } from "../src/image/wasm-lazy";
import worker from "../src/index";
import { parseMessage } from "../src/queue/messages";
import { sources } from "../src/state";
import { fixtureBytes } from "./helpers";
import { decode } from "./images";

const GARDEN = "originals/2025/09/garden-progressive.jpg";
const CUPS = "originals/2025/09/colorful-cups.jpg";
const GARDEN_SIZES = ["150x150", "730x456", "510x320", "600x420", "800x340", "1200x628"];
const ORIGIN = "https://img.queue.test";
/** PUBLIC_ORIGIN set: the queue knows which cache keys to purge in the zone. */
const VARS = { PUBLIC_ORIGIN: ORIGIN };

const apiLog = () => (env as unknown as { CF_API_LOG: Fetcher }).CF_API_LOG;

let n = 0;
async function freshName(): Promise<string> {
	return `q${++n}-${crypto.randomUUID().slice(0, 8)}`;
}

/** An R2 event notification, as R2 sends it to a queue. */
function r2Event(action: string, key: string, object?: R2Object | null) {
	return {
		account: "3f4b7e3dcab231cbfdaa90a6a28bd548",
		action,
		bucket: "wp-uploads",
		object: object ? { key, size: object.size, eTag: object.etag } : { key },
		eventTime: new Date().toISOString(),
	};
}

let ids = 0;
async function deliver(bodies: readonly unknown[], vars: Record<string, unknown> = VARS) {
	const batch = createMessageBatch(
		"wp-edge-images-work",
		bodies.map((body) => ({ id: `q${++ids}`, timestamp: new Date(), attempts: 1, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, { ...env, ...vars } as Env, ctx);
	return getQueueResult(batch, ctx);
}

async function get(key: string, vars: Record<string, unknown> = VARS) {
	const ctx = createExecutionContext();
	const request = new Request(`${ORIGIN}/files/${key}`) as Request<
		unknown,
		IncomingRequestCfProperties
	>;
	const off = { DERIVATIVE_QUEUE: undefined };
	const response = await worker.fetch(request, { ...env, ...off, ...vars } as unknown as Env, ctx);
	const bytes = new Uint8Array(await response.arrayBuffer());
	await waitOnExecutionContext(ctx);
	return { response, bytes };
}

const tierList = async (prefix: string) =>
	(await env.DERIVATIVES.list({ prefix, include: ["customMetadata"] })).objects;

beforeEach(async () => {
	sources.forget();
	await apiLog().fetch("http://log/", { method: "DELETE" });
});
afterEach(() => {
	vi.restoreAllMocks();
});

describe("bucket events", () => {
	it("a new upload (PutObject) gets every size pre-rendered into the tier, from one decode", async () => {
		const name = await freshName();
		const put = await env.ORIGINALS.put(`qe/${name}.jpg`, await fixtureBytes(GARDEN));
		const before = { ...codecStats };
		const result = await deliver([r2Event("PutObject", `qe/${name}.jpg`, put)]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		expect(codecStats.decodes - before.decodes).toBe(1);
		const listed = await tierList(`qe/${name}-`);
		expect(listed.map((o) => o.key).sort()).toEqual(
			GARDEN_SIZES.map((s) => `qe/${name}-${s}.jpg`).sort(),
		);
		// A new upload is not purged: nothing was made from it yet.
		expect(listed.every((o) => o.customMetadata?.generation === "0")).toBe(true);
		expect(await (await apiLog().fetch("http://log/")).json()).toEqual([]);
		// The first visitor is served from the tier, without a decode.
		sources.forget();
		const mid = codecStats.decodes;
		const first = await get(`qe/${name}-730x456.jpg`);
		expect(codecStats.decodes - mid).toBe(0);
		expect(first.response.headers.get("Server-Timing")).toMatch(/tier;dur=/);
		expect((await decode(first.bytes)).width).toBe(730);
		// The upload bucket was only read.
		const originals = await env.ORIGINALS.list({ prefix: `qe/${name}` });
		expect(originals.objects.map((o) => o.key)).toEqual([`qe/${name}.jpg`]);
	});

	it("a -scaled copy or a size file stored in the bucket maps to its upload", async () => {
		const name = await freshName();
		await env.ORIGINALS.put(`qe/${name}.jpg`, await fixtureBytes(GARDEN));
		const result = await deliver([
			r2Event("PutObject", `qe/${name}-scaled.jpg`),
			r2Event("PutObject", `qe/${name}-150x150.jpg`),
			r2Event("CompleteMultipartUpload", `qe/${name}.jpg`),
		]);
		expect(result.explicitAcks).toHaveLength(3);
		expect(await tierList(`qe/${name}-`)).toHaveLength(GARDEN_SIZES.length);
		// A size file written later (an offload plugin's copy) is no overwrite: no purge.
		await deliver([r2Event("PutObject", `qe/${name}-730x456.jpg`)]);
		const listed = await tierList(`qe/${name}-`);
		expect(listed.every((o) => o.customMetadata?.generation === "0")).toBe(true);
		expect(await (await apiLog().fetch("http://log/")).json()).toEqual([]);
	});

	it("an overwritten upload is purged (generation, tier, zone) and pre-rendered again", async () => {
		const name = await freshName();
		const key = `qe/${name}.jpg`;
		await env.ORIGINALS.put(key, await fixtureBytes(GARDEN));
		await deliver([r2Event("PutObject", key)]);
		const old = await get(`qe/${name}-150x150.jpg`);
		expect(old.response.status).toBe(200);
		expect((await get(`qe/${name}-150x150.jpg`)).response.headers.get("X-Cache")).toBe("HIT");

		const put = await env.ORIGINALS.put(key, await fixtureBytes(CUPS));
		const result = await deliver([r2Event("PutObject", key, put)]);
		expect(result.explicitAcks).toHaveLength(1);
		// The zone purge named the old entry's cache key.
		const calls = (await (await apiLog().fetch("http://log/")).json()) as {
			body: { files: string[] };
		}[];
		const files = calls.flatMap((c) => c.body.files ?? []);
		expect(files.some((f) => f.startsWith(`${ORIGIN}/files/qe/${name}-150x150.jpg?`))).toBe(true);
		// The tier holds the new upload's sizes, at the new generation.
		const listed = await tierList(`qe/${name}-`);
		expect(listed.length).toBeGreaterThan(0);
		expect(listed.every((o) => o.customMetadata?.generation === "1")).toBe(true);
		// The old cached entry is unreachable: the new photo is served.
		const fresh = await get(`qe/${name}-150x150.jpg`);
		expect(fresh.response.status).toBe(200);
		expect(fresh.response.headers.get("ETag")).not.toBe(old.response.headers.get("ETag"));
		expect(fresh.bytes).not.toEqual(old.bytes);
		const stored = listed.find((o) => o.key === `qe/${name}-150x150.jpg`);
		expect(fresh.response.headers.get("ETag")).toBe(stored?.customMetadata?.etag);
	});

	it("a deleted upload is purged: tier objects gone, cached sizes unreachable, now 404", async () => {
		const name = await freshName();
		const key = `qe/${name}.jpg`;
		await env.ORIGINALS.put(key, await fixtureBytes(GARDEN));
		await deliver([r2Event("PutObject", key)]);
		expect((await get(`qe/${name}-510x320.jpg`)).response.status).toBe(200);
		await env.ORIGINALS.delete(key);
		for (const action of ["DeleteObject", "LifecycleDeletion"]) {
			const result = await deliver([r2Event(action, key)]);
			expect(result.explicitAcks).toHaveLength(1);
			expect(result.retryMessages).toEqual([]);
		}
		expect(await tierList(`qe/${name}-`)).toEqual([]);
		const calls = (await (await apiLog().fetch("http://log/")).json()) as unknown[];
		expect(calls.length).toBeGreaterThan(0);
		expect((await get(`qe/${name}-510x320.jpg`)).response.status).toBe(404);
	});
});

describe("poison and failures", () => {
	it.each([
		["not an object", "hello"],
		["unknown shape", { hello: "world" }],
		["bad formats", { type: "sizes", upload: "a/b.jpg", generation: 0, formats: ["tiff"] }],
		["bad generation", { type: "sizes", upload: "a/b.jpg", generation: -1, formats: ["jpeg"] }],
		["bad key", { type: "sizes", upload: "", generation: 0, formats: ["jpeg"] }],
		["unknown action", { action: "RenameObject", bucket: "b", object: { key: "a/b.jpg" } }],
	])("%s is acknowledged with one log line, never retried", async (_, body) => {
		expect(parseMessage(body).type).toBe("poison");
		const warn = vi.spyOn(console, "warn");
		const result = await deliver([body]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		expect(warn).toHaveBeenCalledTimes(1);
		expect(String(warn.mock.calls[0]?.[0])).toMatch(/"poison"/);
	});

	it.each([
		["missing", null],
		["undecodable", new TextEncoder().encode("\xff\xd8\xff\xe0 this is not really a JPEG")],
	])("a job for an upload that is %s is acknowledged with one log line", async (_, bytes) => {
		const name = await freshName();
		if (bytes) await env.ORIGINALS.put(`qe/${name}.jpg`, bytes);
		const warn = vi.spyOn(console, "warn");
		const job = { type: "sizes", upload: `qe/${name}.jpg`, generation: 0, formats: ["jpeg"] };
		const result = await deliver([job]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"dropped"'));
		expect(lines).toHaveLength(1);
		expect(await tierList(`qe/${name}-`)).toEqual([]);
	});

	it("a job for an upload over MAX_SOURCE_PIXELS is acknowledged, not retried", async () => {
		const name = await freshName();
		await env.ORIGINALS.put(`qe/${name}.jpg`, await fixtureBytes(GARDEN));
		const job = { type: "sizes", upload: `qe/${name}.jpg`, generation: 0, formats: ["jpeg"] };
		const result = await deliver([job], { ...VARS, MAX_SOURCE_PIXELS: "100000" });
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
	});

	it("a transient failure (the tier unreachable) is retried, with a delay", async () => {
		const name = await freshName();
		await env.ORIGINALS.put(`qe/${name}.jpg`, await fixtureBytes(GARDEN));
		const broken = {
			head: async () => {
				throw new Error("tier down");
			},
		} as unknown as R2Bucket;
		const job = { type: "sizes", upload: `qe/${name}.jpg`, generation: 0, formats: ["jpeg"] };
		const result = await deliver([job], { ...VARS, DERIVATIVES: broken });
		expect(result.explicitAcks).toEqual([]);
		expect(result.retryMessages).toHaveLength(1);
	});

	it("past QUEUE_BATCH_BUDGET_MS the uploads left in a batch are sent again untouched, not started", async () => {
		const [a, b] = [await freshName(), await freshName()];
		for (const name of [a, b])
			await env.ORIGINALS.put(`qe/${name}.jpg`, await fixtureBytes(GARDEN));
		const job = (name: string) => ({
			type: "sizes",
			upload: `qe/${name}.jpg`,
			generation: 0,
			formats: ["jpeg"],
		});
		const sent: unknown[] = [];
		const queue = {
			sendBatch: async (msgs: { body: unknown }[]) => void sent.push(...msgs.map((m) => m.body)),
		};
		const vars = { ...VARS, QUEUE_BATCH_BUDGET_MS: "1", DERIVATIVE_QUEUE: queue };
		const result = await deliver([job(a), job(b)], vars);
		// The first upload is always worked; the budget was spent by then. The
		// second is sent again and acknowledged: a deferral is not a failed attempt.
		expect(result.explicitAcks).toHaveLength(2);
		expect(result.retryMessages).toEqual([]);
		expect(sent).toEqual([job(b)]);
		expect(await tierList(`qe/${a}-`)).toHaveLength(GARDEN_SIZES.length);
		expect(await tierList(`qe/${b}-`)).toHaveLength(0);
		// Its next delivery makes it.
		const again = await deliver(sent);
		expect(again.explicitAcks).toHaveLength(1);
		expect(await tierList(`qe/${b}-`)).toHaveLength(GARDEN_SIZES.length);
	});
});

describe("through miniflare's queue", () => {
	it("a miss's job is delivered to the consumer, which fills the tier", async () => {
		const name = await freshName();
		await env.ORIGINALS.put(`qm/${name}.jpg`, await fixtureBytes(GARDEN));
		const res = await SELF.fetch(`http://queue.test/files/qm/${name}-150x150.jpg`);
		expect(res.status).toBe(200);
		await res.arrayBuffer();
		// The batch is delivered after max_batch_timeout (5 s in wrangler.jsonc).
		const deadline = Date.now() + 20_000;
		let listed = await tierList(`qm/${name}-`);
		while (listed.length < GARDEN_SIZES.length && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 250));
			listed = await tierList(`qm/${name}-`);
		}
		expect(listed.map((o) => o.key).sort()).toEqual(
			GARDEN_SIZES.map((s) => `qm/${name}-${s}.jpg`).sort(),
		);
	});
});
