/**
 * The purge request: body read under a byte limit, JSON validated into
 * normalized targets. Everything here runs before anything is purged, so a
 * bad item rejects the whole request and nothing changes.
 */
import {
	BadRequestError,
	ImageError,
	PayloadTooLargeError,
	UnsupportedMediaTypeError,
} from "../http/errors";
import { encodeKey, type ImagePath, MAX_KEY_BYTES, parseImagePath } from "../url/path";

/** Largest request body read. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Most `images` plus `urls` in one request. */
export const MAX_ITEMS = 100;
/** Longest single item (a full URL). */
const MAX_ITEM_CHARS = 4096;

const FIELDS = ["images", "urls", "prefix", "everything"] as const;

export interface Target {
	/** The item as sent, for the report. */
	readonly input: string;
	/** Origin when the item was a full URL (its cache entries live under that host). */
	readonly origin?: string;
	/** Parsed path: an original (upload or copy) or a derivative. */
	readonly path: ImagePath;
}

export interface PurgeRequest {
	readonly images: readonly Target[];
	readonly urls: readonly Target[];
	readonly prefix?: string;
	readonly everything: boolean;
}

/** Read at most `max` bytes of the body as UTF-8 text; 413 past it. */
export async function readBody(request: Request, max = MAX_BODY_BYTES): Promise<string> {
	const type = request.headers.get("Content-Type") ?? "";
	if (!/^application\/json\s*(;|$)/i.test(type)) {
		throw new UnsupportedMediaTypeError("Content-Type must be application/json");
	}
	const declared = Number(request.headers.get("Content-Length") ?? "0");
	if (declared > max) throw new PayloadTooLargeError(`Body over ${max} bytes`);
	const chunks: Uint8Array[] = [];
	let size = 0;
	if (request.body) {
		const reader = request.body.getReader();
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			size += value.byteLength;
			if (size > max) {
				await reader.cancel();
				throw new PayloadTooLargeError(`Body over ${max} bytes`);
			}
			chunks.push(value);
		}
	}
	const bytes = new Uint8Array(size);
	let at = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, at);
		at += chunk.byteLength;
	}
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
	} catch {
		throw new BadRequestError("Body is not valid UTF-8");
	}
}

function bad(message: string): never {
	throw new BadRequestError(message);
}

/** An item of `images`/`urls`: a full URL, a path under the mount, or a key. */
export function parseTarget(input: string, mountPath: string, field: string): Target {
	let origin: string | undefined;
	let rawRest: string;
	if (/^https?:\/\//i.test(input)) {
		let url: URL;
		try {
			url = new URL(input);
		} catch {
			bad(`${field}: not a valid URL: ${JSON.stringify(input)}`);
		}
		origin = url.origin;
		if (!url.pathname.startsWith(`${mountPath}/`)) {
			bad(`${field}: ${JSON.stringify(input)} is not under ${mountPath}/`);
		}
		// Query strings never reach a cache key, so they do not matter here.
		rawRest = url.pathname.slice(mountPath.length + 1);
	} else if (input.startsWith("/")) {
		if (!input.startsWith(`${mountPath}/`)) {
			bad(`${field}: ${JSON.stringify(input)} is not under ${mountPath}/`);
		}
		rawRest = input.slice(mountPath.length + 1);
	} else {
		// A bare key, as stored in R2: not percent-encoded.
		rawRest = encodeKey(input);
	}
	try {
		return { input, origin, path: parseImagePath(rawRest) };
	} catch (err) {
		if (!(err instanceof ImageError)) throw err;
		bad(`${field}: ${JSON.stringify(input)} is not an upload path (${err.publicMessage})`);
	}
}

/** A key prefix such as `2025/09/` or `2025/09/photo`: no leading slash, no dot segments. */
export function parsePrefix(value: unknown): string {
	if (typeof value !== "string") bad('prefix must be a string such as "2025/09/"');
	if (value === "") bad('prefix must not be empty (use "everything": true)');
	if (value.startsWith("/")) {
		bad(`prefix is a key prefix such as "2025/09/", without the mount path or a leading slash`);
	}
	if (new TextEncoder().encode(value).byteLength > MAX_KEY_BYTES) bad("prefix is too long");
	const segments = value.split("/");
	const last = segments.length - 1;
	for (const [i, segment] of segments.entries()) {
		// Only the last segment may be empty (a trailing slash) or partial.
		if (
			(segment === "" && i !== last) ||
			segment === "." ||
			segment === ".." ||
			/[\\]/.test(segment) ||
			// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
			/[\u0000-\u001f\u007f]/.test(segment)
		) {
			bad(`prefix ${JSON.stringify(value)} has an empty, dot or control-character segment`);
		}
	}
	return value;
}

function stringList(body: Record<string, unknown>, field: "images" | "urls"): string[] {
	const value = body[field];
	if (value === undefined) return [];
	if (!Array.isArray(value)) bad(`${field} must be an array of strings`);
	return value.map((item, i) => {
		if (typeof item !== "string" || item === "") bad(`${field}[${i}] must be a non-empty string`);
		if (item.length > MAX_ITEM_CHARS) bad(`${field}[${i}] is over ${MAX_ITEM_CHARS} characters`);
		return item;
	});
}

/** Validate the JSON body. Limits are checked before any item is parsed. */
export function parsePurgeRequest(text: string, mountPath: string): PurgeRequest {
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch (err) {
		bad(`Body is not valid JSON: ${(err as Error).message}`);
	}
	if (typeof body !== "object" || body === null || Array.isArray(body)) {
		bad(`Body must be a JSON object with one or more of: ${FIELDS.join(", ")}`);
	}
	const fields = body as Record<string, unknown>;
	const unknown = Object.keys(fields).filter((k) => !(FIELDS as readonly string[]).includes(k));
	if (unknown.length > 0) {
		bad(
			`Unknown field ${JSON.stringify(unknown[0])}; expected one or more of: ${FIELDS.join(", ")}`,
		);
	}
	const images = stringList(fields, "images");
	const urls = stringList(fields, "urls");
	if (images.length + urls.length > MAX_ITEMS) {
		throw new PayloadTooLargeError(
			`Too many items: ${images.length + urls.length} (at most ${MAX_ITEMS} images and urls per request)`,
		);
	}
	if (fields.everything !== undefined && fields.everything !== true) {
		bad("everything must be true when present");
	}
	const prefix = fields.prefix === undefined ? undefined : parsePrefix(fields.prefix);
	const everything = fields.everything === true;
	if (images.length + urls.length === 0 && prefix === undefined && !everything) {
		bad(`Nothing to purge: send one or more of ${FIELDS.join(", ")}`);
	}
	const targets = (items: string[], field: string) =>
		items
			.map((item, i) => parseTarget(item, mountPath, `${field}[${i}]`))
			.filter((t, i) => items.indexOf(t.input) === i);
	return {
		images: targets(images, "images"),
		urls: targets(urls, "urls"),
		prefix,
		everything,
	};
}
