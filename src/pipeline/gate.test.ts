import { describe, expect, it } from "vitest";
import { sleep } from "../shared";
import { Gate } from "./gate";

/** Work that never settles, as when its request was cancelled mid-render. */
const never = () => new Promise<never>(() => {});

describe("Gate", () => {
	it("a slot whose holder never finishes is taken back after its lease", async () => {
		const gate = new Gate(1, { leaseMs: 60 });
		void gate.run(never);
		await sleep(0);
		expect(gate.active).toBe(1);
		const started = Date.now();
		await expect(gate.run(async () => "next")).resolves.toBe("next");
		expect(Date.now() - started).toBeGreaterThanOrEqual(55);
		expect([gate.reclaimed, gate.active]).toEqual([1, 0]);
	});

	it("slots are given back when work settles, either way", async () => {
		const gate = new Gate(2, { leaseMs: 60_000 });
		await gate.run(async () => 1);
		await expect(gate.run(() => Promise.reject(new Error("x")))).rejects.toThrow("x");
		expect([gate.active, gate.peak, gate.reclaimed]).toEqual([0, 1, 0]);
	});
});
