/**
 * Edge cache keys and validators. One function builds the cache key from the
 * normalized request, so every place that reads, writes or purges an entry
 * agrees on it.
 */

import { publicPath } from "../url/path";
import { hex } from "../util/hex";

/** Parts of a cache entry's identity besides the object key. */
export interface Variant {
	/** Purge generation of the image (bumped to make old entries unreachable). */
	readonly generation?: number;
	/** Output format when it differs from the extension's (content negotiation). */
	readonly format?: string;
	/**
	 * Short hash of the settings that shape the entry (see `settingsHash`), so a
	 * configuration change makes old entries unreachable instead of served.
	 */
	readonly settings?: string;
}

/**
 * A short, stable hash (16 hex digits: two FNV-1a 32-bit passes) of the
 * configuration values that change what an entry holds. Not a security
 * boundary, only a version: synchronous, so computing keys stays cheap.
 */
export function settingsHash(parts: readonly unknown[]): string {
	const text = JSON.stringify(parts);
	let a = 0x811c9dc5;
	let b = 0x01000193 ^ text.length;
	for (let i = 0; i < text.length; i++) {
		const ch = text.charCodeAt(i);
		a = Math.imul(a ^ ch, 0x01000193);
		b = Math.imul(b ^ ch, 0x5bd1e995) ^ (b >>> 15);
	}
	return [a, b].map((n) => (n >>> 0).toString(16).padStart(8, "0")).join("");
}

/**
 * The Cache API key for an object: the canonical URL on this host, with no
 * query string (so random queries cannot bust the cache) and the variant
 * appended in a fixed order.
 */
export function cacheKeyUrl(
	origin: string,
	mountPath: string,
	key: string,
	variant: Variant = {},
): string {
	const params: string[] = [];
	if (variant.generation) params.push(`g=${variant.generation}`);
	if (variant.format) params.push(`f=${encodeURIComponent(variant.format)}`);
	if (variant.settings) params.push(`s=${encodeURIComponent(variant.settings)}`);
	const query = params.length > 0 ? `?${params.join("&")}` : "";
	return `${origin}${publicPath(mountPath, key)}${query}`;
}

/**
 * The origin cache keys (and the size table's URLs) are built on: PUBLIC_ORIGIN
 * when set, so every hostname and scheme routed to the worker shares one
 * entry; else the request's own origin.
 */
export function keyOrigin(publicOrigin: string | undefined, requestUrl: string): string {
	return publicOrigin ?? new URL(requestUrl).origin;
}

export function cacheKeyRequest(url: string): Request {
	return new Request(url, { method: "GET" });
}

/**
 * A strong ETag that every isolate computes the same way for the same inputs:
 * the source object's etag, the output geometry and the encoder settings.
 */
export async function strongEtag(parts: readonly (string | number)[]): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("|")));
	return `"${hex(digest).slice(0, 32)}"`;
}

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison; `*` matches anything. */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
	if (!header) return false;
	if (header.trim() === "*") return true;
	const opaque = etag.replace(/^W\//, "");
	return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === opaque);
}
