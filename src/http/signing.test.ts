import { describe, expect, it } from "vitest";
import { signPath, verifyPath } from "./signing";

const KEY = "0123456789abcdef0123456789abcdef";
const PATH = "/files/2025/09/photo-333x222.jpeg";
// Computed outside the worker with the README's one-liners (node crypto and
// `openssl dgst -sha256 -hmac`); both print this.
const SIG = "GjTjbDCh4zj7tDWCH8julKThIa4YogE8umMDd_q-pXc";

describe("signed URLs", () => {
	it("signs like openssl and node do", async () => {
		expect(await signPath(KEY, PATH)).toBe(SIG);
	});

	it("verifies its own signature", async () => {
		expect(await verifyPath(KEY, PATH, SIG)).toBe(true);
	});

	it.each([
		["another path", KEY, "/files/2025/09/photo-333x223.jpeg", SIG],
		["another key", `${KEY}x`, PATH, SIG],
		["one character changed", KEY, PATH, `${SIG.slice(0, -1)}Y`],
		["padded", KEY, PATH, `${SIG}=`],
		["standard base64 alphabet", KEY, PATH, SIG.replace("_", "/")],
		["truncated", KEY, PATH, SIG.slice(0, 42)],
		["empty", KEY, PATH, ""],
		["hex instead of base64url", KEY, PATH, "ab".repeat(32)],
	])("rejects %s", async (_, key, path, sig) => {
		expect(await verifyPath(key, path, sig)).toBe(false);
	});
});
