/**
 * An original asked for by its own name: streamed as stored, with the HTTP
 * semantics of a static file (RFC 9110 §13 preconditions, §14 ranges).
 *
 * We evaluate every precondition and the Range header ourselves, in the order
 * §13.2.2 gives, from the object's metadata. R2 is asked only to skip the body
 * when If-None-Match / If-Modified-Since would make the answer a 304, and for
 * the byte range we worked out against the object's size.
 */
import type { Context } from "hono";
import { ifNoneMatchHits } from "../cache/keys";
import { contentTypeFor } from "../origin/extensions";
import { Storage } from "../origin/storage";
import type { OriginalPath } from "../url/path";
import { NotFoundError, SourceChangedError } from "./errors";
import { type AppEnv, SECURITY_HEADERS } from "./respond";

/** What to do with a Range header (RFC 9110 §14.2). */
export type RangeAnswer =
	/** Absent, syntactically invalid, multi-range or not worth it: send the whole body (200). */
	| { readonly kind: "full" }
	/** One satisfiable range: 206 with these bytes. */
	| { readonly kind: "range"; readonly offset: number; readonly length: number }
	/** Valid but no byte of it exists: 416 with `Content-Range: bytes *\/size`. */
	| { readonly kind: "unsatisfiable" };

const FULL: RangeAnswer = { kind: "full" };
/** bytes=first-last | bytes=first- | bytes=-suffix (one range; unit case-insensitive). */
const SINGLE_RANGE =
	/^bytes[ \t]*=[ \t]*(?:([0-9]{1,15})[ \t]*-[ \t]*([0-9]{0,15})|-[ \t]*([0-9]{1,15}))[ \t]*$/i;

/**
 * The one range we serve for `header` over an object of `size` bytes.
 * Multi-range requests are answered with the full body, as §14.2 allows.
 */
export function parseRange(header: string | null, size: number): RangeAnswer {
	if (header === null) return FULL;
	const m = SINGLE_RANGE.exec(header.trim());
	if (!m) return FULL;
	const [, firstText, lastText, suffixText] = m;
	if (suffixText !== undefined) {
		const suffix = Number(suffixText);
		if (suffix === 0) return { kind: "unsatisfiable" };
		// An empty object has no bytes to send but a non-zero suffix is satisfiable (§14.1.1).
		if (size === 0) return FULL;
		const length = Math.min(suffix, size);
		return { kind: "range", offset: size - length, length };
	}
	const first = Number(firstText);
	const last = lastText === "" ? undefined : Number(lastText);
	if (last !== undefined && last < first) return FULL; // invalid range-spec
	if (first >= size) return { kind: "unsatisfiable" };
	const end = Math.min(last ?? size - 1, size - 1);
	return { kind: "range", offset: first, length: end - first + 1 };
}

/** RFC 9110 §13.1.1: If-Match uses strong comparison; `*` matches any current object. */
export function ifMatchHolds(header: string, etag: string): boolean {
	if (header.trim() === "*") return true;
	if (etag.startsWith("W/")) return false;
	return header.split(",").some((tag) => tag.trim() === etag);
}

/** An HTTP-date as seconds, or undefined when it is not a valid date (then ignored). */
function httpDateSeconds(header: string | null): number | undefined {
	if (header === null) return undefined;
	const ms = Date.parse(header);
	return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

type Precondition = "ok" | "412" | "304";

/** §13.2.2 order: If-Match, else If-Unmodified-Since; If-None-Match, else If-Modified-Since. */
export function evaluatePreconditions(
	headers: Headers,
	etag: string,
	uploaded: Date,
): Precondition {
	const modified = Math.floor(uploaded.getTime() / 1000);
	const ifMatch = headers.get("If-Match");
	if (ifMatch !== null) {
		if (!ifMatchHolds(ifMatch, etag)) return "412";
	} else {
		const since = httpDateSeconds(headers.get("If-Unmodified-Since"));
		if (since !== undefined && modified > since) return "412";
	}
	const ifNoneMatch = headers.get("If-None-Match");
	if (ifNoneMatch !== null) {
		if (ifNoneMatchHits(ifNoneMatch, etag)) return "304";
	} else {
		const since = httpDateSeconds(headers.get("If-Modified-Since"));
		if (since !== undefined && modified <= since) return "304";
	}
	return "ok";
}

/** §13.1.5: a Range is honoured only when If-Range (if any) names the current object. */
function ifRangeHolds(header: string | null, etag: string, uploaded: Date): boolean {
	if (header === null) return true;
	const value = header.trim();
	if (value.startsWith('"') || value.startsWith("W/")) {
		return !etag.startsWith("W/") && value === etag;
	}
	const date = httpDateSeconds(value);
	return date !== undefined && date === Math.floor(uploaded.getTime() / 1000);
}

function hasBody(object: R2Object | R2ObjectBody): object is R2ObjectBody {
	return "body" in object;
}

/** Only the validators R2 should evaluate for us: the ones that skip the body (304). */
function notModifiedOnly(request: Headers): Headers | undefined {
	const only = new Headers();
	for (const name of ["If-None-Match", "If-Modified-Since"]) {
		const value = request.get(name);
		if (value !== null) only.set(name, value);
	}
	return [...only.keys()].length > 0 ? only : undefined;
}

export async function serveOriginal(c: Context<AppEnv>, path: OriginalPath): Promise<Response> {
	const storage = new Storage(c.env.ORIGINALS, c.var.config.limits.r2TimeoutMs);
	const object = await fetchObject(storage, path.key, c.req.raw);
	if (!object) throw new NotFoundError("Not Found");
	return answerObject(c, storage, path.key, object);
}

/**
 * The object as a first read: metadata only for HEAD and for a Range (whose
 * answer needs the size first), else the body unless a validator skips it.
 */
export async function fetchObject(
	storage: Storage,
	key: string,
	request: Request,
): Promise<R2Object | R2ObjectBody | null> {
	if (request.method === "HEAD" || request.headers.get("Range") !== null) {
		return storage.head(key);
	}
	const onlyIf = notModifiedOnly(request.headers);
	return storage.stream(key, onlyIf ? { onlyIf } : undefined);
}

/** The headers a stored object is served with: its own metadata, else ours. */
function objectHeaders(object: R2Object, key: string, cacheControl: string): Headers {
	const headers = new Headers(SECURITY_HEADERS);
	object.writeHttpMetadata(headers);
	if (!headers.has("Content-Type")) headers.set("Content-Type", contentTypeFor(key));
	if (!headers.has("Cache-Control")) headers.set("Cache-Control", cacheControl);
	headers.set("ETag", object.httpEtag);
	headers.set("Last-Modified", object.uploaded.toUTCString());
	headers.set("Accept-Ranges", "bytes");
	return headers;
}

/** Answer with a stored object as a static file: preconditions, HEAD, ranges. */
export async function answerObject(
	c: Context<AppEnv>,
	storage: Storage,
	key: string,
	object: R2Object | R2ObjectBody,
): Promise<Response> {
	const request = c.req.raw.headers;
	const headers = objectHeaders(object, key, c.var.config.cacheControl);
	const precondition = evaluatePreconditions(request, object.httpEtag, object.uploaded);
	if (precondition !== "ok") {
		if (hasBody(object)) await object.body.cancel();
		return new Response(null, { status: precondition === "412" ? 412 : 304, headers });
	}
	if (c.req.method === "HEAD") {
		headers.set("Content-Length", String(object.size));
		return new Response(null, { status: 200, headers });
	}
	const range = ifRangeHolds(request.get("If-Range"), object.httpEtag, object.uploaded)
		? parseRange(request.get("Range"), object.size)
		: FULL;
	if (range.kind === "unsatisfiable") {
		headers.set("Content-Range", `bytes */${object.size}`);
		return new Response(null, { status: 416, headers });
	}
	return sendBody(storage, key, object, range, headers);
}

async function sendBody(
	storage: Storage,
	key: string,
	first: R2Object | R2ObjectBody,
	range: RangeAnswer,
	headers: Headers,
): Promise<Response> {
	// Metadata only so far (a Range request, or R2 judged a validator differently
	// from §13): fetch exactly the version whose metadata we answered from.
	const object = hasBody(first)
		? first
		: await storage.stream(key, {
				onlyIf: { etagMatches: first.etag },
				...(range.kind === "range"
					? { range: { offset: range.offset, length: range.length } }
					: {}),
			});
	if (!object || !hasBody(object)) throw new SourceChangedError(`get ${key}: changed since head`);
	if (range.kind === "range") {
		const last = range.offset + range.length - 1;
		headers.set("Content-Range", `bytes ${range.offset}-${last}/${object.size}`);
		headers.set("Content-Length", String(range.length));
		return new Response(object.body, { status: 206, headers });
	}
	headers.set("Content-Length", String(object.size));
	return new Response(object.body, { status: 200, headers });
}
