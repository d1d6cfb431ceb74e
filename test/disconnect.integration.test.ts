/**
 * Clients that go away mid-render. Through SELF.fetch, so each request has its
 * own context and aborting the fetch cancels the worker's request, as a
 * client disconnect does in production (its pending I/O never settles, its
 * `finally` blocks never run). Shared work must outlive it and clean up
 * after itself, or every later request for the upload waits and fails.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, expect, it } from "vitest";
import { codecStats } from "../src/image/wasm-lazy";
import { renderGate } from "../src/state";
import { sleep } from "../src/util/shared";
import { fixtureBytes } from "./helpers";
import { decode } from "./images";

const DIR = "2025/12/";
const url = (file: string) => `http://images.test/files/${DIR}${file}`;
const ADOBE = "originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only";

beforeAll(async () => {
	await env.ORIGINALS.put(`${DIR}gone.jpeg`, await fixtureBytes(`${ADOBE}.jpeg`));
	await env.ORIGINALS.put(`${DIR}gone-scaled.jpeg`, await fixtureBytes(`${ADOBE}-scaled.jpeg`));
});

it("renders whose clients disconnect after 50 ms do not jam the isolate", async () => {
	const decodes = codecStats.decodes;
	// A render is now mostly one stretch of synchronous WASM (decode, resize,
	// encode), leaving this test no moment to run while both renders hold a
	// slot. Hold each slot 100 ms before its render starts, as a slow R2 read
	// would, so the clients go while both renders are in flight.
	const run = renderGate.run;
	renderGate.run = <T>(work: () => Promise<T>) =>
		run.call(renderGate, () => sleep(100).then(work)) as Promise<T>;
	const aborted = ["1200x628", "1200x800"].map((size) => {
		const controller = new AbortController();
		const done = SELF.fetch(url(`gone-${size}.jpeg`), { signal: controller.signal }).then(
			() => "finished",
			(err: unknown) => (err as Error).name,
		);
		return { controller, done };
	});
	// Cancelled mid-render: both hold a render slot when their clients go.
	await sleep(50);
	// (under a loaded machine the lookups may take longer than 50 ms)
	for (let i = 0; i < 1000 && renderGate.active < 2; i++) await sleep(5);
	expect(renderGate.active).toBe(2);
	for (const { controller } of aborted) controller.abort();
	renderGate.run = run;
	expect(await Promise.all(aborted.map((a) => a.done))).toEqual(["AbortError", "AbortError"]);

	// The same URL, and another size of the same upload, both promptly.
	const started = Date.now();
	const [same, other] = await Promise.all([
		SELF.fetch(url("gone-1200x628.jpeg")),
		SELF.fetch(url("gone-150x150.jpeg")),
	]);
	const elapsed = Date.now() - started;
	const rendered = codecStats.decodes - decodes;
	expect([same.status, other.status]).toEqual([200, 200]);
	expect((await decode(await same.arrayBuffer())).height).toBe(628);
	expect((await decode(await other.arrayBuffer())).width).toBe(150);
	// Far below the 60 s a request waits for shared work before giving up.
	expect(elapsed).toBeLessThan(15_000);
	// At most the two abandoned renders (kept alive) and the two new ones.
	expect(rendered).toBeLessThanOrEqual(4);
	// Every render slot came back.
	for (let i = 0; i < 100 && renderGate.active > 0; i++) await sleep(20);
	expect(renderGate.active).toBe(0);
	// Given back by the renders themselves, not by lease expiry.
	expect(renderGate.reclaimed).toBe(0);
}, 20_000);
