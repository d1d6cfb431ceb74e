import { describe, expect, it } from "vitest";
import { OverloadedError } from "../http/errors";
import { errorResponse } from "../http/respond";
import { sleep } from "../util/shared";
import { Gate } from "./gate";

/** Work that never settles, as when its request was cancelled mid-render. */
const never = () => new Promise<never>(() => {});

describe("Gate", () => {
	it("a slot whose holder never finishes is taken back after its lease", async () => {
		const gate = new Gate(1, { maxWaiters: 4, maxWaitMs: 10_000, leaseMs: 60 });
		void gate.run(never);
		await sleep(0);
		expect(gate.active).toBe(1);
		const started = Date.now();
		await expect(gate.run(async () => "next")).resolves.toBe("next");
		expect(Date.now() - started).toBeGreaterThanOrEqual(55);
		expect([gate.reclaimed, gate.active]).toEqual([1, 0]);
	});

	it("slots are given back when work settles, either way", async () => {
		const gate = new Gate(2, { maxWaiters: 4, maxWaitMs: 10_000, leaseMs: 60_000 });
		await gate.run(async () => 1);
		await expect(gate.run(() => Promise.reject(new Error("x")))).rejects.toThrow("x");
		expect([gate.active, gate.peak, gate.reclaimed]).toEqual([0, 1, 0]);
	});

	it("past maxWaiters a caller is refused at once with a 503", async () => {
		const gate = new Gate(1, { maxWaiters: 2, maxWaitMs: 10_000, leaseMs: 60_000 });
		void gate.run(never);
		await sleep(0);
		const queued = [gate.run(async () => 1), gate.run(async () => 2)];
		for (const q of queued) q.catch(() => undefined);
		await sleep(0);
		expect(gate.waiting).toBe(2);
		const started = Date.now();
		const refused = await gate.run(async () => 3).catch((err: unknown) => err);
		expect(Date.now() - started).toBeLessThan(20);
		expect(refused).toBeInstanceOf(OverloadedError);
		const res = errorResponse(refused);
		expect(res.status).toBe(503);
		expect(res.headers.get("Retry-After")).toBe("5");
		expect(res.headers.get("Cache-Control")).toBe("no-store");
	});

	it("a wait for a slot has a deadline: 503 after maxWaitMs, and the place is given up", async () => {
		const gate = new Gate(1, { maxWaiters: 8, maxWaitMs: 80, leaseMs: 60_000 });
		void gate.run(never);
		await sleep(0);
		const started = Date.now();
		await expect(gate.run(async () => 1)).rejects.toMatchObject({ status: 503 });
		expect(Date.now() - started).toBeGreaterThanOrEqual(75);
		expect(Date.now() - started).toBeLessThan(500);
		expect(gate.waiting).toBe(0);
	});
});
