import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map";

const keys = (m: BoundedMap<unknown>) => [...m.entries()].map(([k]) => k);

describe("BoundedMap", () => {
	it("drops the least recently used past maxEntries; get refreshes recency, peek does not", () => {
		const m = new BoundedMap<number>({ maxEntries: 2 });
		m.set("a", 1, Infinity);
		m.set("b", 2, Infinity);
		m.peek("a");
		m.get("a");
		m.set("c", 3, Infinity);
		expect(keys(m)).toEqual(["a", "c"]);
		expect(m.get("b")).toBeUndefined();
	});

	it("keeps total weight within maxWeight, never evicting weightless (pending) entries for it", () => {
		const m = new BoundedMap<string>({ maxWeight: 10 });
		m.set("pending", "p", Infinity, 0);
		m.set("a", "a", Infinity, 6);
		m.set("b", "b", Infinity, 6);
		expect(keys(m)).toEqual(["pending", "b"]);
		expect(m.weight).toBe(6);
		// Once it weighs something it is evicted in recency order like any other.
		m.update("pending", Infinity, 8);
		expect(keys(m)).toEqual(["b"]);
		expect(m.weight).toBe(6);
	});

	it.each([
		[999, "kept"],
		[1000, "gone"],
		[1001, "gone"],
	])("an entry expiring at 1000, read at %i, is %s", (now, outcome) => {
		const m = new BoundedMap<string>();
		m.set("k", "v", 1000, 3);
		expect(m.get("k", now) === "v" ? "kept" : "gone").toBe(outcome);
		if (outcome === "gone") expect(m.weight).toBe(0);
	});

	it("touch extends an entry and makes it most recent; prune and deleteWhere drop and count", () => {
		const m = new BoundedMap<number>();
		m.set("a", 1, 10);
		m.set("b", 2, 10);
		m.touch("a", 50);
		expect(keys(m)).toEqual(["b", "a"]);
		m.prune(20);
		expect(keys(m)).toEqual(["a"]);
		m.set("ab", 3, 100);
		expect(m.deleteWhere((k) => k.startsWith("a"))).toBe(2);
		expect(m.size).toBe(0);
	});
});
