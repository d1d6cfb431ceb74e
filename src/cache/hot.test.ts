import { describe, expect, it } from "vitest";
import { HotCache, hotResponse, sharedMaxAgeMs } from "./hot";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const headers = new Headers({ "Content-Type": "image/jpeg", ETag: '"e"' });

describe("HotCache", () => {
	it("gives back the bytes and headers it kept", async () => {
		const hot = new HotCache(100, 50, 1000);
		hot.put("a", bytes(10, 7), headers, 0);
		const entry = hot.get("a", 1);
		expect(entry?.bytes).toEqual(bytes(10, 7));
		const res = hotResponse(entry as NonNullable<typeof entry>);
		expect(res.status).toBe(200);
		expect(res.headers.get("ETag")).toBe('"e"');
		expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes(10, 7));
	});

	it.each([
		// budget, max entry, ttl, sizes put in order, get at ms, expected kept keys
		["drops the least recently used past the budget", 100, 60, 1000, [40, 40, 40], 1, ["1", "2"]],
		["never keeps an entry over the size limit", 100, 30, 1000, [40, 20], 1, ["1"]],
		["forgets entries past their age", 100, 60, 10, [10, 10], 10, []],
		["a zero budget keeps nothing", 0, 60, 1000, [10], 1, []],
	])("%s", (_, budget, maxEntry, ttl, sizes, at, kept) => {
		const hot = new HotCache(budget, maxEntry, ttl);
		sizes.forEach((n, i) => {
			hot.put(String(i), bytes(n), headers, 0);
		});
		const present = sizes.map((_, i) => String(i)).filter((k) => hot.get(k, at) !== undefined);
		expect(present).toEqual(kept);
		expect(hot.heldBytes).toBeLessThanOrEqual(budget);
	});

	it("a get makes an entry the most recently used", () => {
		const hot = new HotCache(100, 60, 1000);
		hot.put("a", bytes(40), headers, 0);
		hot.put("b", bytes(40), headers, 0);
		hot.get("a", 1);
		hot.put("c", bytes(40), headers, 2);
		expect(hot.get("a", 3)).toBeDefined();
		expect(hot.get("b", 3)).toBeUndefined();
	});

	it("replacing or deleting a key keeps the byte count right", () => {
		const hot = new HotCache(100, 60, 1000);
		hot.put("a", bytes(40), headers, 0);
		hot.put("a", bytes(30), headers, 0);
		expect(hot.heldBytes).toBe(30);
		hot.delete("a");
		hot.delete("missing");
		expect(hot.heldBytes).toBe(0);
		hot.put("b", bytes(10), headers, 0);
		hot.clear();
		expect([hot.heldBytes, hot.get("b", 0)]).toEqual([0, undefined]);
	});
});

describe("sharedMaxAgeMs", () => {
	it.each([
		["public, max-age=31536000, immutable", 31536000_000],
		["public, max-age=60, s-maxage=5", 5000],
		["max-age=30", 30_000],
		["no-store", 0],
		["private, max-age=600", 0],
		["public, no-cache", 0],
		["public", 0],
		[null, 0],
	])("%s → %i ms", (cc, ms) => {
		expect(sharedMaxAgeMs(cc)).toBe(ms);
	});

	it("an entry is kept no longer than the age it is given", () => {
		const hot = new HotCache(100, 60, 60_000);
		hot.put("a", bytes(10), headers, 0, 5000);
		hot.put("b", bytes(10), headers, 0, 0);
		expect(hot.get("a", 4999)).toBeDefined();
		expect(hot.get("a", 5000)).toBeUndefined();
		expect(hot.get("b", 0)).toBeUndefined();
	});
});
