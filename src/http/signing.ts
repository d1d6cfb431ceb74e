import { hmacKey } from "./hmac";
/**
 * Signed URLs (optional, imgproxy-style): with the secret `URL_SIGNING_KEY`
 * set, a derivative URL carrying `?sig=<signature>` may ask for any size the
 * upload can give (see `matchSize`), not only the registered ones: for sizes a
 * theme starts using before `IMAGE_SIZES` is updated.
 *
 *   signature = base64url(HMAC-SHA256(URL_SIGNING_KEY, canonical path)), no padding
 *   canonical path = the mount plus the key, each segment percent-encoded once
 *                    (`publicPath`), e.g. `/files/2025/09/photo-333x222.jpeg`
 *
 * The query string is not part of any cache key, so the signature only decides
 * whether a new size may be MADE; a size once made is served from the cache
 * like any other. Comparison is constant-time (`crypto.subtle.verify`).
 */

/** Smallest secret accepted (bytes): HMAC-SHA256's own block of strength. */
export const MIN_KEY_BYTES = 32;

const utf8 = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** base64url without padding of exactly 32 bytes, or null. */
function fromBase64Url(text: string): Uint8Array | null {
	if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null;
	const bin = atob(`${text.replaceAll("-", "+").replaceAll("_", "/")}=`);
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function signPath(secret: string, path: string): Promise<string> {
	const mac = await crypto.subtle.sign("HMAC", await hmacKey("signing", secret), utf8.encode(path));
	return toBase64Url(new Uint8Array(mac));
}

export async function verifyPath(
	secret: string,
	path: string,
	signature: string,
): Promise<boolean> {
	const mac = fromBase64Url(signature);
	if (!mac) return false;
	return crypto.subtle.verify("HMAC", await hmacKey("signing", secret), mac, utf8.encode(path));
}
