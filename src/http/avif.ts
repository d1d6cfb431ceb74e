/**
 * AVIF for browsers that take it, never encoded on the request path: the
 * queue consumer makes it into the tier. Until it is there an AVIF-class
 * request gets the WebP under the AVIF entry's cache key, with its own ETag
 * and a short Cache-Control, so the AVIF replaces it within
 * AVIF_PENDING_MAX_AGE seconds of being made.
 */
import { MIME } from "../image/probe";

/** The headers of a WebP standing in for an AVIF not made yet. */
export function standInHeaders(headers: Headers, etag: string, maxAge: number): Headers {
	const standIn = new Headers(headers);
	standIn.set("Content-Type", MIME.webp);
	standIn.set("ETag", etag);
	standIn.set("Cache-Control", `public, max-age=${maxAge}`);
	return standIn;
}
