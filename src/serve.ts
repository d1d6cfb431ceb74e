/**
 * The two image routes: an original streamed as stored, and a derivative
 * made on demand and kept in the edge cache.
 */
import type { Context } from "hono";
import { cacheKeyRequest, cacheKeyUrl, ifNoneMatchHits, strongEtag } from "./cache";
import type { Config } from "./config";
import { ForbiddenError, LimitExceededError, NotFoundError, UpstreamError } from "./errors";
import { Generations } from "./generation";
import type { FILTERS } from "./image/codecs";
import type { EncodeSettings, OutputFormat } from "./image/formats";
import { MIME } from "./image/probe";
import { acceptClass, negotiateFormat, variesByAccept } from "./negotiate";
import { extensionFormat, lookupUpload, UploadDirectory, type UploadMeta } from "./originals";
import { type DerivativePath, type OriginalPath, publicPath } from "./path";
import { Gate } from "./pipeline/gate";
import { assertRenderable, type Rendered, render } from "./pipeline/render";
import { matchSize, planRender, type RenderPlan } from "./plan";
import { Shared, sleep } from "./shared";
import { verifyPath } from "./signing";
import { Storage } from "./storage";

export interface AppVariables {
	config: Config;
	/** Set by the derivative route so onError can cache a 404 briefly. */
	negativeCacheKey?: string;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };

/**
 * Resize settings; part of every derivative's ETag. Premultiplied alpha is
 * used only for sources with transparent pixels (see the render pipeline).
 */
export const RESIZE = {
	filter: "lanczos3" as keyof typeof FILTERS,
	premultiply: true,
	linearRGB: false,
};
/** Bump when the pipeline's output changes for the same inputs. */
export const PIPELINE_VERSION = "1";

/** Lookups of uploads shared by every request of this isolate. */
export const directory = new UploadDirectory();

/** Purge generations this isolate has read (or written, when a purge ran here). */
export const generations = new Generations();

/**
 * The purge generation of `key` (a derivative of the upload, or the upload
 * itself for what describes all of it). Normally answered from memory.
 */
export async function generationFor(
	env: Env,
	config: Config,
	uploadKey: string,
	key: string,
): Promise<number> {
	return generations.current(env.PURGE_STATE, uploadKey, key, config.generationMemoMs);
}

/** Concurrent misses for one derivative share one render. */
const inflight = new Map<string, Shared<Rendered>>();
/** How long a finished render stays shared after its cache put lands (ms). */
const INFLIGHT_GRACE_MS = 1000;

/**
 * Renders (source download + decode → encode) admitted at once per isolate:
 * one decoding while the next one's source downloads. Bounds memory under a
 * burst of different misses (see Gate).
 */
export const renderGate = new Gate(2);

const SECURITY_HEADERS = {
	"X-Content-Type-Options": "nosniff",
	// Uploads can be anything (HTML, SVG): never let one run script on our origin.
	"Content-Security-Policy":
		"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
};

const TYPES_BY_EXTENSION: Record<string, string> = {
	jpg: "image/jpeg",
	jpeg: "image/jpeg",
	jpe: "image/jpeg",
	png: "image/png",
	gif: "image/gif",
	webp: "image/webp",
	avif: "image/avif",
	svg: "image/svg+xml",
	pdf: "application/pdf",
};

/** For objects stored without a content type: by extension, else opaque bytes. */
function contentTypeFor(key: string): string {
	const ext = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
	return TYPES_BY_EXTENSION[ext] ?? "application/octet-stream";
}

function hasBody(object: R2Object | R2ObjectBody): object is R2ObjectBody {
	return "body" in object;
}

function storageFor(c: Context<AppEnv>): Storage {
	return new Storage(c.env.ORIGINALS, c.var.config.limits.r2TimeoutMs);
}

export async function serveOriginal(c: Context<AppEnv>, path: OriginalPath): Promise<Response> {
	const storage = storageFor(c);
	const head = c.req.method === "HEAD";
	const object = head
		? await storage.head(path.key)
		: await storage.stream(path.key, { onlyIf: c.req.raw.headers, range: c.req.raw.headers });
	if (!object) throw new NotFoundError("Not Found");
	const headers = new Headers(SECURITY_HEADERS);
	object.writeHttpMetadata(headers);
	if (!headers.has("Content-Type")) headers.set("Content-Type", contentTypeFor(path.key));
	if (!headers.has("Cache-Control")) headers.set("Cache-Control", c.var.config.cacheControl);
	headers.set("ETag", object.httpEtag);
	headers.set("Last-Modified", object.uploaded.toUTCString());
	headers.set("Accept-Ranges", "bytes");
	if (!head && !hasBody(object)) {
		// R2 evaluated If-None-Match / If-Modified-Since and said "not modified".
		return new Response(null, { status: 304, headers });
	}
	if (head) {
		headers.set("Content-Length", String(object.size));
		return new Response(null, { status: 200, headers });
	}
	if (!hasBody(object)) throw new Error("unreachable: R2 returned no body");
	const range = object.range as { offset?: number; length?: number } | undefined;
	if (
		range &&
		(range.offset !== undefined || range.length !== undefined) &&
		c.req.header("Range")
	) {
		const offset = range.offset ?? 0;
		const length = range.length ?? object.size - offset;
		headers.set("Content-Range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
		headers.set("Content-Length", String(length));
		return new Response(object.body, { status: 206, headers });
	}
	headers.set("Content-Length", String(object.size));
	return new Response(object.body, { status: 200, headers });
}

function serverTiming(t: Record<string, number>): string {
	return Object.entries(t)
		.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
		.join(", ");
}

function encodeSettings(config: Config): EncodeSettings {
	return {
		jpegQuality: config.jpegQuality,
		webpQuality: config.webpQuality,
		pngLevel: config.pngLevel,
	};
}

/** The encoder settings that shape the bytes of `output`, for its ETag. */
function encoderTag(output: OutputFormat, config: Config): string {
	switch (output) {
		case "jpeg":
			return `q${config.jpegQuality}`;
		case "webp":
			return `webp-q${config.webpQuality}`;
		case "png":
			return `png-o${config.pngLevel}`;
	}
}

async function renderFromSource(
	storage: Storage,
	meta: UploadMeta,
	plan: RenderPlan,
	output: OutputFormat,
	config: Config,
	timing: Record<string, number>,
): Promise<Rendered> {
	const { limits } = config;
	const { source } = meta;
	// Limits come before the expensive work: bytes and pixels are known from
	// the header we probed, before the source is downloaded or decoded.
	if (source.size > limits.maxSourceBytes) {
		throw new LimitExceededError("MAX_SOURCE_BYTES", `Original is ${source.size} bytes`);
	}
	if (source.info.width * source.info.height > limits.maxSourcePixels) {
		throw new LimitExceededError(
			"MAX_SOURCE_PIXELS",
			`Original is ${source.info.width}x${source.info.height} pixels`,
		);
	}
	const started = performance.now();
	// Only the version we probed: its header is what the plan and the limits
	// were worked out from. Anything else means the lookup is stale.
	let read: Awaited<ReturnType<Storage["read"]>>;
	try {
		read = await storage.read(source.key, source.etag);
	} catch (err) {
		directory.forget(meta.uploadKey);
		throw err;
	}
	if (!read) {
		directory.forget(meta.uploadKey);
		throw new UpstreamError("Original changed while it was read", {
			detail: `get ${source.key}: gone since lookup`,
			timeout: true,
		});
	}
	timing.r2 = (timing.r2 ?? 0) + performance.now() - started;
	return render({
		bytes: read.bytes,
		format: source.info.format,
		crop: plan.crop,
		width: plan.resizeWidth,
		height: plan.resizeHeight,
		orientation: plan.orientation,
		output,
		encode: encodeSettings(config),
		palette: source.info.png?.colorType === 3,
		resize: RESIZE,
		deadline: Date.now() + limits.renderBudgetMs,
	});
}

/**
 * Whether this request may make any size (see signing.ts). A `sig` that does
 * not verify is a 403 even for a registered size: the client meant to sign.
 * Without a configured key, query strings mean nothing and `sig` is ignored.
 */
async function signedRequest(c: Context<AppEnv>, path: DerivativePath): Promise<boolean> {
	const secret = c.var.config.urlSigningKey;
	const sig = c.req.query("sig");
	if (secret === undefined || sig === undefined) return false;
	if (!(await verifyPath(secret, publicPath(c.var.config.mountPath, path.key), sig))) {
		throw new ForbiddenError("Bad signature", { detail: `bad sig for ${path.key}` });
	}
	return true;
}

export async function serveDerivative(c: Context<AppEnv>, path: DerivativePath): Promise<Response> {
	const { config } = c.var;
	const signed = await signedRequest(c, path);
	const origin = new URL(c.req.url).origin;
	const uploadKey = `${path.dir}${path.name}.${path.ext}`;
	const generation = await generationFor(c.env, config, uploadKey, path.key);
	// Negotiation is decided from the name alone, so a HIT needs no R2 read.
	// The cache key carries the format only when it is not the file's own.
	// (GIF, AVIF and unknown extensions never render: they are refused below.)
	const own = extensionFormat(path.ext) ?? "jpeg";
	const output = negotiateFormat(own, acceptClass(c.req.header("Accept")), config.autoFormat);
	const keyUrl = cacheKeyUrl(
		origin,
		config.mountPath,
		path.key,
		output === own ? { generation } : { generation, format: output },
	);
	const cache = caches.default;
	const cached = await cache.match(cacheKeyRequest(keyUrl));
	// A remembered 404 was for unsigned requests: a signed one may make the size.
	if (cached && (cached.status === 200 || !signed)) return finish(c, cached, "HIT");

	c.set("negativeCacheKey", keyUrl);
	const storage = storageFor(c);
	const timing: Record<string, number> = {};
	const lookupStart = performance.now();
	// A purge changes the generation, so the next request looks the upload up again.
	const meta = await directory.get(`${uploadKey}#${generation}`, () =>
		lookupUpload(storage, path.dir, path.name, path.ext, config.limits),
	);
	timing.r2 = performance.now() - lookupStart;
	const plan = planRender(
		meta,
		matchSize(meta, path.width, path.height, config.sizes, signed),
		config.limits,
	);
	assertRenderable(meta.source.info);
	const etag = await strongEtag([
		meta.source.key,
		meta.source.etag,
		plan.width,
		plan.height,
		plan.crop.x,
		plan.crop.y,
		plan.crop.w,
		plan.crop.h,
		plan.orientation,
		output,
		encoderTag(output, config),
		RESIZE.filter,
		RESIZE.premultiply ? "pm" : "",
		PIPELINE_VERSION,
		`g${generation}`,
	]);
	const headers = new Headers({
		"Content-Type": MIME[output],
		"Cache-Control": config.cacheControl,
		ETag: etag,
		"Last-Modified": meta.source.uploaded.toUTCString(),
		...SECURITY_HEADERS,
	});
	// Every variant says so, the file's own format too: a shared cache must not
	// hand a JPEG-only client the WebP it stored for another.
	if (variesByAccept(own, config.autoFormat)) headers.set("Vary", "Accept");
	// A client that already holds these bytes needs no render at all.
	if (ifNoneMatchHits(c.req.header("If-None-Match") ?? null, etag)) {
		headers.set("X-Cache", "MISS");
		return new Response(null, { status: 304, headers });
	}

	let rendering = inflight.get(keyUrl);
	const owner = rendering === undefined;
	if (rendering === undefined) {
		rendering = new Shared(
			renderGate.run(() => renderFromSource(storage, meta, plan, output, config, timing)),
		);
		inflight.set(keyUrl, rendering);
	}
	const shared = rendering;
	const forget = () => {
		if (inflight.get(keyUrl) === shared) inflight.delete(keyUrl);
	};
	// Watched, never awaited across requests (see Shared); a waiter gives up
	// after the time the render itself may take.
	const { limits } = config;
	let rendered: Rendered;
	try {
		rendered = await shared.get(3 * limits.r2TimeoutMs + 2 * limits.renderBudgetMs);
	} catch (err) {
		if (owner) forget();
		throw err;
	}
	headers.set("Content-Type", rendered.contentType);
	headers.set("Content-Length", String(rendered.bytes.byteLength));
	const stored = new Response(rendered.bytes, { status: 200, headers });
	if (owner) {
		// Misses that arrive after the render but before the cache has it still
		// share this render: the entry goes a moment after the put lands.
		c.executionCtx.waitUntil(
			cache
				.put(cacheKeyRequest(keyUrl), stored.clone())
				.then(() => sleep(INFLIGHT_GRACE_MS))
				.finally(forget),
		);
	}
	const response = finish(c, stored, "MISS");
	response.headers.set("Server-Timing", serverTiming({ ...timing, ...rendered.timings }));
	return response;
}

/** Conditional GET, HEAD and the X-Cache marker, for hits and misses alike. */
export function finish(c: Context<AppEnv>, stored: Response, state: "HIT" | "MISS"): Response {
	const headers = new Headers(stored.headers);
	headers.set("X-Cache", state);
	const etag = headers.get("ETag");
	if (
		etag &&
		stored.status === 200 &&
		ifNoneMatchHits(c.req.header("If-None-Match") ?? null, etag)
	) {
		headers.delete("Content-Length");
		return new Response(null, { status: 304, headers });
	}
	const body = c.req.method === "HEAD" ? null : stored.body;
	return new Response(body, { status: stored.status, headers });
}
