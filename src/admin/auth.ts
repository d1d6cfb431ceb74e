import { hmacKey } from "../http/hmac";
import { hex } from "../util/hex";

/**
 * Bearer-token check for the admin routes. The presented token and the
 * configured one are both run through HMAC-SHA-256 keyed with the configured
 * token, and the two 32-byte MACs are compared with workerd's constant-time
 * `crypto.subtle.timingSafeEqual`: neither the comparison nor the lengths
 * leak how much of a guess was right.
 *
 * The same MAC, shortened, is the token's fingerprint in logs: stable for the
 * right token, useless to anyone who reads the logs without the secret (a plain
 * hash of a short guess could be brute-forced from the log).
 */

const utf8 = new TextEncoder();
const expected = new Map<string, Promise<ArrayBuffer>>();

async function mac(secret: string, value: string): Promise<ArrayBuffer> {
	return crypto.subtle.sign("HMAC", await hmacKey("admin", secret), utf8.encode(value));
}

/** The token from `Authorization: Bearer <token>` (RFC 6750 §2.1), if well-formed. */
export function bearerToken(header: string | undefined | null): string | undefined {
	const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? "");
	return match?.[1];
}

/** Constant-time: does `presented` equal the configured `secret`? */
export async function tokenMatches(presented: string, secret: string): Promise<boolean> {
	let want = expected.get(secret);
	if (!want) {
		want = mac(secret, secret);
		expected.clear();
		expected.set(secret, want);
	}
	const [got, ref] = await Promise.all([mac(secret, presented), want]);
	return crypto.subtle.timingSafeEqual(got, ref);
}

/** 12 hex characters identifying a presented token in logs, never the token. */
export async function tokenFingerprint(presented: string, secret: string): Promise<string> {
	return hex(await mac(secret, `fingerprint:${presented}`)).slice(0, 12);
}
