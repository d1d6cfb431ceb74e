/**
 * HMAC-SHA256 keys, imported once per secret. A deployment has one admin
 * token and one signing key, so the memo holds only the latest key per use:
 * a rotated secret replaces the old key instead of accumulating.
 */
const utf8 = new TextEncoder();

export type HmacUse = "admin" | "signing";

const latest = new Map<HmacUse, { secret: string; key: Promise<CryptoKey> }>();

export function hmacKey(use: HmacUse, secret: string): Promise<CryptoKey> {
	const held = latest.get(use);
	if (held?.secret === secret) return held.key;
	const key = crypto.subtle.importKey(
		"raw",
		utf8.encode(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign", "verify"],
	);
	latest.set(use, { secret, key });
	return key;
}
