import { describe, expect, it } from "vitest";
import type { RGBAImage } from "../image/orientation";
import { DecodedSources } from "./sources";

const image = (bytes: number): RGBAImage => ({
	data: new Uint8ClampedArray(bytes),
	width: bytes / 4,
	height: 1,
});

/** A decoder that counts its calls and yields an image of `bytes`. */
function decoder(bytes: number) {
	const calls = { n: 0 };
	const decode = async () => {
		calls.n++;
		return { image: image(bytes) };
	};
	return { calls, decode };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("DecodedSources", () => {
	it("a decode pending past maxPendingMs (its request was cancelled) is replaced", async () => {
		const s = new DecodedSources(1000, 1000, 500);
		const stuck = new Promise<{ image: RGBAImage }>(() => {});
		expect(s.get("x", 8, () => stuck, 0)).toBe(stuck);
		// Within the limit it is still shared; past it a new decode starts.
		expect(s.get("x", 8, () => Promise.reject(new Error("no")), 400)).toBe(stuck);
		const d = decoder(400);
		await s.get("x", 8, d.decode, 501);
		expect(d.calls.n).toBe(1);
		// A waiter that gave up drops only the entry it waited on.
		const again = new Promise<{ image: RGBAImage }>(() => {});
		s.forget();
		s.get("y", 8, () => again, 0);
		s.drop("y", stuck);
		expect(s.get("y", 8, d.decode, 1)).toBe(again);
		s.drop("y", again);
		await s.get("y", 8, d.decode, 2);
		expect(d.calls.n).toBe(2);
	});

	it("shares one pending decode between concurrent callers", async () => {
		const s = new DecodedSources(1000, 1000);
		const d = decoder(400);
		const [a, b] = await Promise.all([s.get("x", 8, d.decode, 0), s.get("x", 8, d.decode, 0)]);
		expect(d.calls.n).toBe(1);
		expect(a).toBe(b);
	});

	it.each([
		// budget, ttl, image bytes, second call at ms, decodes
		["kept within budget and ttl", 1000, 100, 400, 50, 1],
		["dropped after its ttl", 1000, 100, 400, 150, 2],
		["never kept when larger than the budget", 300, 100, 400, 1, 2],
	])("%s", async (_, budget, ttl, bytes, later, decodes) => {
		const s = new DecodedSources(budget, ttl);
		const d = decoder(bytes);
		await s.get("x", 8, d.decode, 0);
		await settle();
		await s.get("x", 8, d.decode, later);
		expect(d.calls.n).toBe(decodes);
	});

	it("evicts the least recently used source to stay within the budget", async () => {
		const s = new DecodedSources(1000, 10_000);
		const a = decoder(400);
		const b = decoder(400);
		const c = decoder(400);
		await s.get("a", 8, a.decode, 0);
		await settle();
		await s.get("b", 8, b.decode, 1);
		await settle();
		await s.get("a", 8, a.decode, 2); // a is now the most recent
		await s.get("c", 8, c.decode, 3);
		await settle();
		expect(s.heldBytes).toBeLessThanOrEqual(1000);
		await s.get("a", 8, a.decode, 4);
		await s.get("b", 8, b.decode, 5);
		expect([a.calls.n, b.calls.n, c.calls.n]).toEqual([1, 2, 1]);
	});

	it("forgets a failed decode, so the next caller retries", async () => {
		const s = new DecodedSources();
		await expect(s.get("x", 8, () => Promise.reject(new Error("boom")), 0)).rejects.toThrow("boom");
		await settle();
		const d = decoder(4);
		await s.get("x", 8, d.decode, 1);
		expect(d.calls.n).toBe(1);
	});

	it("forget(prefix) drops matching sources only", async () => {
		const s = new DecodedSources();
		const a = decoder(4);
		const b = decoder(4);
		await s.get("up/a|1", 8, a.decode, 0);
		await s.get("other|1", 8, b.decode, 0);
		await settle();
		s.forget("up/");
		await s.get("up/a|1", 8, a.decode, 1);
		await s.get("other|1", 8, b.decode, 1);
		expect([a.calls.n, b.calls.n]).toEqual([2, 1]);
	});

	it.each([
		// held scale, asked scale, decodes: a decode at least as large serves a smaller size
		[8, 2, 1],
		[4, 4, 1],
		[2, 4, 2],
	])("a decode at %i/8 serves a request for %i/8: %i decode(s)", async (held, asked, decodes) => {
		const s = new DecodedSources();
		const scales: number[] = [];
		const decode = async (scale: number) => {
			scales.push(scale);
			return { image: image(4 * scale) };
		};
		const first = await s.get("x", held, decode, 0);
		const second = await s.get("x", asked, decode, 1);
		expect(scales.length).toBe(decodes);
		expect(scales.at(-1)).toBe(decodes === 1 ? held : asked);
		if (decodes === 1) expect(second).toBe(first);
	});

	it("of several running decodes, the smallest that is large enough is used", async () => {
		const s = new DecodedSources();
		const decode = async (scale: number) => ({ image: image(4 * scale) });
		// Three decodes running at once (requests for three sizes)…
		s.get("x", 1, decode, 0);
		const four = s.get("x", 4, decode, 0);
		const full = s.get("x", 8, decode, 0);
		expect(full).not.toBe(four);
		// …a 2/8 request takes the 4/8 decode rather than the full one.
		expect(s.get("x", 2, decode, 1)).toBe(four);
		await full;
	});

	it("a second, larger size while a smaller decode runs: decoded once at the upgrade scale for the rest", async () => {
		const s = new DecodedSources();
		const scales: number[] = [];
		const decode = async (scale: number) => {
			scales.push(scale);
			return { image: image(4 * scale) };
		};
		// Alone, a size decodes at its own scale even when the upgrade would be larger.
		const small = s.get("x", 1, decode, 0, () => 6);
		// A larger size arrives: one decode at 6/8, which the next sizes share.
		const big = s.get("x", 3, decode, 0, () => 6);
		const next = s.get("x", 5, decode, 0, () => 6);
		await Promise.all([small, big, next]);
		expect(scales).toEqual([1, 6]);
		expect(await next).toBe(await big);
		// Once the upgrade is done, the smaller decode is no longer held.
		await settle();
		expect(s.heldBytes).toBe(4 * 6);
	});
});
