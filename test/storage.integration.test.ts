/**
 * Storage.readPrefix against miniflare's R2: one ranged get per call, with
 * R2's own answers for short, empty and missing objects.
 */
import { env } from "cloudflare:test";
import { beforeAll, expect, it } from "vitest";
import { Storage } from "../src/origin/storage";
import { sleep } from "../src/util/shared";
import { recordingBucket } from "./worker";

const DIR = "storage/";
const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

beforeAll(async () => {
	await env.ORIGINALS.put(`${DIR}empty`, new Uint8Array(0));
	await env.ORIGINALS.put(`${DIR}short`, bytes(3));
	await env.ORIGINALS.put(`${DIR}long`, bytes(1000));
});

it.each<[string, number, number | null, string[]]>([
	["long", 64, 64, ["range"]],
	["long", 1000, 1000, ["range"]],
	// A range past the end is clamped by R2: the whole object, one call.
	["short", 64, 3, ["range"]],
	["missing", 64, null, ["range"]],
	// R2 refuses any range of a zero-byte object; a HEAD then says "empty".
	["empty", 64, 0, ["range", "head"]],
])("readPrefix(%s, %i) → %s bytes via %j", async (name, length, expected, calls) => {
	const recorder = recordingBucket();
	const storage = new Storage(recorder.bucket, 5000);
	const read = await storage.readPrefix(`${DIR}${name}`, length);
	expect(read === null ? null : read.bytes.byteLength).toBe(expected);
	if (read && expected) {
		expect(read.bytes).toEqual(bytes(name === "short" ? 3 : 1000).subarray(0, expected));
		expect(read.object.size).toBe(name === "short" ? 3 : 1000);
	}
	if (read && expected === 0) expect(read.object.size).toBe(0);
	expect(recorder.reads.map((r) => r.how)).toEqual(calls);
});

it("R2 down: a 502, not an empty file", async () => {
	const recorder = recordingBucket();
	recorder.fault = "throw";
	const storage = new Storage(recorder.bucket, 5000);
	await expect(storage.readPrefix(`${DIR}long`, 64)).rejects.toMatchObject({ status: 502 });
});

it.each(["read", "readPrefix", "stream"] as const)(
	"%s: a body that arrives after the time-out is cancelled, not downloaded",
	async (method) => {
		const recorder = recordingBucket();
		recorder.fault = "late";
		const storage = new Storage(recorder.bucket, 50);
		const key = `${DIR}long`;
		const call =
			method === "read"
				? storage.read(key)
				: method === "readPrefix"
					? storage.readPrefix(key, 64)
					: storage.stream(key);
		await expect(call).rejects.toMatchObject({ status: 503 });
		expect(recorder.cancelled).toEqual([]);
		// R2 answers 300 ms after the call; nobody wants the bytes any more.
		for (let i = 0; i < 50 && recorder.cancelled.length === 0; i++) await sleep(20);
		expect(recorder.cancelled).toEqual([key]);
	},
);
