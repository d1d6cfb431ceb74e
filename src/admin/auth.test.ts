import { describe, expect, it } from "vitest";
import { bearerToken, tokenFingerprint, tokenMatches } from "./auth";

const SECRET = "s3cret-token-0123456789abcdef-0123456789";

describe("bearerToken", () => {
	it.each([
		[`Bearer ${SECRET}`, SECRET],
		[`bearer ${SECRET}`, SECRET],
		[`Bearer  ${SECRET} `, SECRET],
		["Bearer abc==", "abc=="],
		[undefined, undefined],
		["", undefined],
		["Bearer", undefined],
		["Bearer ", undefined],
		[`Basic ${btoa("a:b")}`, undefined],
		["Bearer a b", undefined],
		["Bearer tok\u00e9n", undefined],
	])("%j → %j", (header, expected) => {
		expect(bearerToken(header)).toBe(expected);
	});
});

describe("tokenMatches (HMAC digests compared with crypto.subtle.timingSafeEqual)", () => {
	it.each([
		[SECRET, true],
		[`${SECRET}x`, false],
		[SECRET.slice(0, -1), false],
		[SECRET.toUpperCase(), false],
		["", false],
		["x", false],
		["x".repeat(10_000), false],
	])("%s → %s", async (presented, expected) => {
		expect(await tokenMatches(presented, SECRET)).toBe(expected);
	});

	it("follows the configured token when it changes", async () => {
		expect(await tokenMatches(SECRET, `${SECRET}-rotated`)).toBe(false);
		expect(await tokenMatches(`${SECRET}-rotated`, `${SECRET}-rotated`)).toBe(true);
	});
});

describe("tokenFingerprint", () => {
	it("is short, stable, different per token and never contains the token", async () => {
		const a = await tokenFingerprint(SECRET, SECRET);
		expect(a).toMatch(/^[0-9a-f]{12}$/);
		expect(await tokenFingerprint(SECRET, SECRET)).toBe(a);
		expect(await tokenFingerprint("guess", SECRET)).not.toBe(a);
		// Keyed with the secret: the same guess fingerprints differently elsewhere.
		expect(await tokenFingerprint("guess", `${SECRET}2`)).not.toBe(
			await tokenFingerprint("guess", SECRET),
		);
	});
});
