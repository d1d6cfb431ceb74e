/**
 * The isolate's memory in front of the Cache API (src/cache/hot.ts): a HIT for a
 * hot derivative needs no cache lookup, answers conditional and HEAD requests
 * like any HIT, and a purge still makes the next request a MISS.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { cacheKeyRequest, cacheKeyUrl } from "../src/cache/keys";
import { loadConfig } from "../src/config";
import { variesByAccept } from "../src/http/negotiate";
import { derivativeSettings } from "../src/render/settings";
import { hot } from "../src/state";
import { DIR, decode, seed } from "./images";

const HOST = "http://hot.test";
const FILE = "autumn-tiny-150x150.jpg";
const url = `${HOST}/files/${DIR}${FILE}`;
const TOKEN = (env as unknown as { ADMIN_TOKEN: string }).ADMIN_TOKEN;

/** The edge cache's key for FILE, as the serving path builds it (default config, generation 0). */
function edgeKey(): string {
	const config = loadConfig(env);
	const settings = derivativeSettings(config, variesByAccept("jpeg", config.autoFormat));
	return cacheKeyUrl(HOST, config.mountPath, `${DIR}${FILE}`, { generation: 0, settings });
}

beforeAll(async () => {
	await seed("autumn-tiny.jpg");
});

describe("hot derivatives in isolate memory", () => {
	it("a HIT with the edge cache entry gone is still the same bytes, from memory; purge makes it a MISS", async () => {
		const miss = await SELF.fetch(url);
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		const bytes = new Uint8Array(await miss.arrayBuffer());
		const etag = miss.headers.get("ETag");

		// The edge cache forgets it (eviction); the isolate still holds it.
		const key = edgeKey();
		await new Promise((r) => setTimeout(r, 50)); // the cache put runs in waitUntil
		expect(await caches.default.delete(cacheKeyRequest(key))).toBe(true);
		expect(hot.get(key)).toBeDefined();
		const hit = await SELF.fetch(url);
		expect(hit.status).toBe(200);
		expect(hit.headers.get("X-Cache")).toBe("HIT");
		expect(hit.headers.get("ETag")).toBe(etag);
		expect(hit.headers.get("Content-Type")).toBe("image/jpeg");
		expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes);
		expect((await decode(bytes)).width).toBe(150);

		// Conditional and HEAD requests are answered from memory like any HIT.
		const notModified = await SELF.fetch(url, { headers: { "If-None-Match": etag ?? "" } });
		expect([notModified.status, notModified.headers.get("X-Cache")]).toEqual([304, "HIT"]);
		const head = await SELF.fetch(url, { method: "HEAD" });
		expect([head.status, (await head.arrayBuffer()).byteLength]).toEqual([200, 0]);

		// A purge changes the generation in every key: the memory entry is unreachable.
		const purge = await SELF.fetch(`${HOST}/_admin/purge`, {
			method: "POST",
			headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
			body: JSON.stringify({ images: [url] }),
		});
		expect(purge.status).toBe(200);
		// …and this isolate's hot copies are gone with the local edge entries.
		expect(hot.heldBytes).toBe(0);
		const after = await SELF.fetch(url);
		expect(after.headers.get("X-Cache")).toBe("MISS");
		expect(after.headers.get("ETag")).not.toBe(etag);
		await after.arrayBuffer();
	});

	it("an edge cache HIT fills the isolate's memory", async () => {
		await (await SELF.fetch(url)).arrayBuffer(); // made now or already cached
		await new Promise((r) => setTimeout(r, 50)); // the cache put runs in waitUntil
		hot.clear();
		const fromEdge = await SELF.fetch(url);
		expect(fromEdge.headers.get("X-Cache")).toBe("HIT");
		const body = new Uint8Array(await fromEdge.arrayBuffer());
		expect(hot.heldBytes).toBe(body.byteLength);
	});
});
