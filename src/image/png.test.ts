import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { codecStats } from "./codecs";
import { decodePng, resetPng } from "./png";

/** Let `depth` rounds of microtasks run, then call fn. */
function after(depth: number, fn: () => Promise<unknown>): Promise<unknown> {
	let p: Promise<unknown> = Promise.resolve();
	for (let i = 0; i < depth; i++) p = p.then(() => undefined);
	return p.then(fn);
}

describe("PNG codec instance after a failed decode", () => {
	it("keeps an instance another request made while the failure unwound", async () => {
		const good = await fixtureBytes("originals/2025/09/chart-gray.png");
		// Signature and IHDR intact, the rest garbage: the decoder panics mid-call.
		const bad = good.slice();
		bad.fill(0x5a, 60);
		// Whatever microtask the other request lands in between the failed
		// call's own reset and its caller, the instance it gets must stay.
		let raced = 0;
		for (let depth = 0; depth < 12; depth++) {
			resetPng();
			await decodePng(good);
			const failed = decodePng(bad).then(
				() => "decoded",
				() => "refused",
			);
			let made = false;
			const other = after(depth, async () => {
				const start = codecStats.instantiations;
				const pending = decodePng(good);
				// Came after the failed call dropped the poisoned instance: made its own.
				made = codecStats.instantiations > start;
				return pending;
			});
			expect(await failed).toBe("refused");
			await other;
			if (!made) continue;
			raced++;
			const before = codecStats.instantiations;
			await decodePng(good);
			expect(codecStats.instantiations, `depth ${depth}`).toBe(before);
		}
		expect(raced).toBeGreaterThan(0);
	});
});
