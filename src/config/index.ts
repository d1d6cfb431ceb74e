/**
 * Deployment configuration, read from wrangler `[vars]` and secrets, validated
 * once per isolate. A bad value never falls back to a default silently: every
 * request then fails with a ConfigError whose log line names the variable.
 */
import { ConfigError } from "../http/errors";
import { MIN_KEY_BYTES } from "../http/signing";
import type { ImageFormat } from "../image/probe";
import type { OutputFormats } from "../origin/extensions";
import { DEFAULT_SIZES, parseSizeRegistry, type SizeRegistry } from "../wp/sizes";
import { VARS, type VarName, type VarSpec } from "./spec";

export interface Limits {
	/** Largest original (bytes) the worker will download to decode. */
	readonly maxSourceBytes: number;
	/** Largest original (width × height) the worker will decode (baseline JPEG: streamed). */
	readonly maxSourcePixels: number;
	/** Largest PNG (width × height) it will read (non-interlaced: streamed past 8 MiB of RGBA, render/stream.ts). */
	readonly maxLosslessSourcePixels: number;
	/** Largest original decoded whole: WebP, interlaced PNG, progressive JPEG, GIF, AVIF. */
	readonly maxSourcePixelsWhole: number;
	/** Largest animation (frames × width × height) decoded when ANIMATED_GIF is on. */
	readonly maxAnimationPixels: number;
	/** Largest side of any derivative it will make. */
	readonly maxOutputSide: number;
	/** Largest header prefix it reads to find an original's dimensions. */
	readonly maxHeaderBytes: number;
	/** Time budget for one R2 call, and for one render. */
	readonly r2TimeoutMs: number;
	readonly renderBudgetMs: number;
}

/** The admin routes; absent unless ADMIN_TOKEN is set (admin is off by default). */
export interface AdminConfig {
	/** Where the admin routes live, e.g. `/_admin`. */
	readonly path: string;
	/** The bearer token (a secret). Never logged or shown; see admin/auth.ts. */
	readonly token: string;
}

/** Cloudflare's zone purge API, used by purges when both secrets are set. */
export interface ZonePurgeConfig {
	readonly zoneId: string;
	/** API token with the Zone → Cache Purge permission (a secret). */
	readonly apiToken: string;
}

export interface Config {
	/**
	 * The one origin (scheme + host) cache keys, size-table URLs and purge use;
	 * undefined = each request's own origin.
	 */
	readonly publicOrigin: string | undefined;
	readonly mountPath: string;
	/** Where the size table of an upload is served: `${sizesPath}/<upload key>`. */
	readonly sizesPath: string;
	/** Whether `GET /` serves the demo page (local dev; off in production). */
	readonly demoPage: boolean;
	/** Bucket prefix the demo page lists uploads under. */
	readonly demoPrefix: string;
	readonly sizes: SizeRegistry;
	/** WordPress's output-format mapping (OUTPUT_FORMATS): source format → sizes' format. */
	readonly outputFormats: OutputFormats;
	readonly jpegQuality: number;
	/** Quality of lossy WebP output (WebP sizes of lossy WebP, negotiated WebP). */
	readonly webpQuality: number;
	/** WebP quality when a JPEG/PNG size is served as WebP (AUTO_FORMAT). */
	readonly negotiatedWebpQuality: number;
	/** oxipng effort for the background PNG optimisation (optimizePng), 0 (fast) – 6 (smallest). */
	readonly pngLevel: number;
	/** Wall time after which the queue consumer hands a batch's remaining uploads back. */
	readonly queueBatchBudgetMs: number;
	/** libavif quality (1–100) and libaom speed (0–10) for AVIF sizes. */
	readonly avifQuality: number;
	readonly avifSpeed: number;
	/** Keep an animated GIF's sizes animated (else the first frame, as WordPress). */
	readonly animatedGif: boolean;
	/** Serve JPEG/PNG derivatives as WebP to clients whose Accept asks for it. */
	readonly autoFormat: boolean;
	readonly cacheControl: string;
	readonly notFoundMaxAge: number;
	/** Seconds a WebP stand-in for a not-yet-made AVIF is cached. */
	readonly avifPendingMaxAge: number;
	/** Secret for signed URLs (any size within limits); undefined = off. */
	readonly urlSigningKey: string | undefined;
	readonly limits: Limits;
	/** Mount the `/__bench/*` routes (`npm run bench` only; never in production). */
	readonly benchRoutes: boolean;
	/** How long an isolate trusts a purge generation it read from KV. */
	readonly generationMemoMs: number;
	/** Most cache keys one purge request may touch (else 413: split the request). */
	readonly purgeMaxCacheKeys: number;
	readonly admin?: AdminConfig;
	readonly zonePurge?: ZonePurgeConfig;
}

/** Every default, from the spec (tests and the bench compare against these). */
export const DEFAULTS = Object.fromEntries(
	Object.entries(VARS).flatMap(([name, spec]) => ("default" in spec ? [[name, spec.default]] : [])),
) as {
	readonly [N in VarName as (typeof VARS)[N] extends { default: unknown }
		? N
		: never]: (typeof VARS)[N] extends { default: infer D } ? D : never;
};

/** Shortest ADMIN_TOKEN accepted: a guessable token must not turn admin on. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

type Vars = Readonly<Record<string, unknown>>;

/** A variable's raw text; unset (or empty) is undefined. */
function raw(vars: Vars, name: VarName): string | undefined {
	const value = vars[name];
	if (value === undefined || value === null || value === "") return undefined;
	if (typeof value !== "string") throw new ConfigError(name, "must be a string");
	return value;
}

type IntName = { [N in VarName]: (typeof VARS)[N]["kind"] extends "int" ? N : never }[VarName];
type BoolName = { [N in VarName]: (typeof VARS)[N]["kind"] extends "bool" ? N : never }[VarName];

/** An integer within the spec's range; `_` separators allowed. */
function int(vars: Vars, name: IntName): number {
	const spec: VarSpec = VARS[name];
	const text = raw(vars, name);
	if (text === undefined) return spec.default as number;
	if (!/^\d+$/.test(text.replaceAll("_", "")))
		throw new ConfigError(name, `not an integer: ${text}`);
	const value = Number(text.replaceAll("_", ""));
	const [min, max] = [spec.min ?? 0, spec.max ?? Number.MAX_SAFE_INTEGER];
	if (value < min || value > max) throw new ConfigError(name, `${value} is outside ${min}..${max}`);
	return value;
}

function bool(vars: Vars, name: BoolName): boolean {
	const text = raw(vars, name);
	if (text === undefined) return VARS[name].default;
	if (text === "true" || text === "1") return true;
	if (text === "false" || text === "0") return false;
	throw new ConfigError(name, `must be true or false, got ${JSON.stringify(text)}`);
}

/** A URL path made of one or more plain segments, no trailing slash. */
function urlPath(vars: Vars, name: "MOUNT_PATH" | "SIZES_PATH" | "ADMIN_PATH"): string {
	const fallback = VARS[name].default;
	const text = raw(vars, name) ?? fallback;
	// So `${path}/${key}` is the only shape a request under it can take.
	if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(text) || /\/\.\.?(\/|$)/.test(text)) {
		throw new ConfigError(name, `must look like ${fallback}, got ${JSON.stringify(text)}`);
	}
	return text;
}

/** An absolute http(s) origin with no path, query, fragment or credentials. */
function publicOrigin(vars: Vars): string | undefined {
	const text = raw(vars, "PUBLIC_ORIGIN");
	if (text === undefined) return undefined;
	const url = URL.canParse(text) ? new URL(text) : undefined;
	const plain =
		url !== undefined &&
		(url.protocol === "https:" || url.protocol === "http:") &&
		url.username === "" &&
		url.password === "" &&
		url.pathname === "/" &&
		url.search === "" &&
		url.hash === "";
	if (!plain) {
		throw new ConfigError(
			"PUBLIC_ORIGIN",
			`must be an origin like https://img.example.com, got ${JSON.stringify(text)}`,
		);
	}
	return url.origin;
}

/** The size-table path; it must not lie inside the uploads mount or contain it. */
function sizesPath(vars: Vars, mount: string): string {
	const path = urlPath(vars, "SIZES_PATH");
	if (within(path, mount) || within(mount, path)) {
		throw new ConfigError("SIZES_PATH", `${path} overlaps MOUNT_PATH ${mount}`);
	}
	return path;
}

function demoPrefix(vars: Vars): string {
	const text = raw(vars, "DEMO_PREFIX") ?? VARS.DEMO_PREFIX.default;
	// A key prefix: folders of the uploads bucket, e.g. `2025/09/`.
	if (text.length > 256 || !/^([A-Za-z0-9._~-]+\/)*$/.test(text) || /(^|\/)\.\.?\//.test(text)) {
		throw new ConfigError(
			"DEMO_PREFIX",
			`must be empty or like 2025/09/, got ${JSON.stringify(text)}`,
		);
	}
	return text;
}

function cacheControl(vars: Vars): string {
	const text = raw(vars, "CACHE_CONTROL") ?? VARS.CACHE_CONTROL.default;
	if (/[\r\n]/.test(text)) throw new ConfigError("CACHE_CONTROL", "must be one line");
	return text;
}

const within = (path: string, base: string) => path === base || path.startsWith(`${base}/`);

/** Admin is on only with a long enough ADMIN_TOKEN and somewhere to keep generations. */
function admin(vars: Vars, taken: Readonly<Record<string, string>>): AdminConfig | undefined {
	const token = raw(vars, "ADMIN_TOKEN");
	if (token === undefined) return undefined;
	// RFC 6750 b64token characters only: any other token could never be sent
	// in an Authorization header. The message never includes the token.
	if (token.length < MIN_ADMIN_TOKEN_LENGTH || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
		throw new ConfigError(
			"ADMIN_TOKEN",
			`must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32)`,
		);
	}
	const path = urlPath(vars, "ADMIN_PATH");
	for (const [name, other] of Object.entries(taken)) {
		if (within(path, other) || within(other, path)) {
			throw new ConfigError("ADMIN_PATH", `${path} overlaps ${name} ${other}`);
		}
	}
	if (vars.PURGE_STATE === undefined) {
		throw new ConfigError(
			"PURGE_STATE",
			"a KV namespace binding is required when ADMIN_TOKEN is set",
		);
	}
	return { path, token };
}

function zonePurge(vars: Vars): ZonePurgeConfig | undefined {
	const zoneId = raw(vars, "CF_ZONE_ID");
	const apiToken = raw(vars, "CF_API_TOKEN");
	if (zoneId === undefined && apiToken === undefined) return undefined;
	if (zoneId === undefined) throw new ConfigError("CF_ZONE_ID", "is required with CF_API_TOKEN");
	if (apiToken === undefined) throw new ConfigError("CF_API_TOKEN", "is required with CF_ZONE_ID");
	if (!/^[0-9a-f]{32}$/.test(zoneId)) {
		throw new ConfigError("CF_ZONE_ID", "must be the zone's 32-character hex id");
	}
	if (/\s/.test(apiToken)) throw new ConfigError("CF_API_TOKEN", "must not contain spaces");
	return { zoneId, apiToken };
}

function sizes(vars: Vars): SizeRegistry {
	const text = raw(vars, "IMAGE_SIZES");
	if (text === undefined) return DEFAULT_SIZES;
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (err) {
		throw new ConfigError("IMAGE_SIZES", `not JSON: ${(err as Error).message}`);
	}
	try {
		return parseSizeRegistry(json);
	} catch (err) {
		throw new ConfigError("IMAGE_SIZES", (err as Error).message);
	}
}

const MIME_FORMATS: Readonly<Record<string, ImageFormat>> = {
	"image/jpeg": "jpeg",
	"image/png": "png",
	"image/webp": "webp",
	"image/gif": "gif",
	"image/avif": "avif",
	"image/heic": "heic",
};

/** The `image_editor_output_format` mapping, mime type to mime type, as formats. */
function outputFormats(vars: Vars): OutputFormats {
	const text = raw(vars, "OUTPUT_FORMATS") ?? VARS.OUTPUT_FORMATS.default;
	const bad = (why: string) => new ConfigError("OUTPUT_FORMATS", why);
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (err) {
		throw bad(`not JSON: ${(err as Error).message}`);
	}
	if (typeof json !== "object" || json === null || Array.isArray(json)) {
		throw bad('must be an object like {"image/jpeg":"image/webp"}');
	}
	const mapping = new Map<ImageFormat, ImageFormat>();
	for (const [from, to] of Object.entries(json)) {
		const [a, b] = [MIME_FORMATS[from], typeof to === "string" ? MIME_FORMATS[to] : undefined];
		if (!a || !b || b === "heic") throw bad(`cannot map ${from} to ${JSON.stringify(to)}`);
		if (a !== b) mapping.set(a, b);
	}
	return mapping;
}

function signingKey(vars: Vars): string | undefined {
	const key = raw(vars, "URL_SIGNING_KEY");
	if (key !== undefined && new TextEncoder().encode(key).byteLength < MIN_KEY_BYTES) {
		throw new ConfigError("URL_SIGNING_KEY", `must be at least ${MIN_KEY_BYTES} bytes`);
	}
	return key;
}

function limits(vars: Vars): Limits {
	return {
		maxSourceBytes: int(vars, "MAX_SOURCE_BYTES"),
		maxSourcePixels: int(vars, "MAX_SOURCE_PIXELS"),
		maxLosslessSourcePixels: int(vars, "MAX_LOSSLESS_SOURCE_PIXELS"),
		maxSourcePixelsWhole: int(vars, "MAX_SOURCE_PIXELS_WHOLE"),
		maxAnimationPixels: int(vars, "MAX_ANIMATION_PIXELS"),
		maxOutputSide: int(vars, "MAX_OUTPUT_SIDE"),
		maxHeaderBytes: int(vars, "MAX_HEADER_BYTES"),
		r2TimeoutMs: int(vars, "R2_TIMEOUT_MS"),
		renderBudgetMs: int(vars, "RENDER_BUDGET_MS"),
	};
}

/** Pure: validate raw vars into a Config. Throws ConfigError naming the variable. */
export function parseConfig(vars: Vars): Config {
	const mount = urlPath(vars, "MOUNT_PATH");
	const sizesAt = sizesPath(vars, mount);
	return {
		publicOrigin: publicOrigin(vars),
		mountPath: mount,
		sizesPath: sizesAt,
		demoPage: bool(vars, "DEMO_PAGE"),
		demoPrefix: demoPrefix(vars),
		sizes: sizes(vars),
		outputFormats: outputFormats(vars),
		jpegQuality: int(vars, "JPEG_QUALITY"),
		webpQuality: int(vars, "WEBP_QUALITY"),
		negotiatedWebpQuality: int(vars, "NEGOTIATED_WEBP_QUALITY"),
		pngLevel: int(vars, "PNG_LEVEL"),
		queueBatchBudgetMs: int(vars, "QUEUE_BATCH_BUDGET_MS"),
		avifQuality: int(vars, "AVIF_QUALITY"),
		avifSpeed: int(vars, "AVIF_SPEED"),
		animatedGif: bool(vars, "ANIMATED_GIF"),
		autoFormat: bool(vars, "AUTO_FORMAT"),
		cacheControl: cacheControl(vars),
		notFoundMaxAge: int(vars, "NOT_FOUND_MAX_AGE"),
		avifPendingMaxAge: int(vars, "AVIF_PENDING_MAX_AGE"),
		benchRoutes: bool(vars, "BENCH_ROUTES"),
		urlSigningKey: signingKey(vars),
		limits: limits(vars),
		generationMemoMs: 1000 * int(vars, "GENERATION_MEMO_SECONDS"),
		purgeMaxCacheKeys: int(vars, "PURGE_MAX_CACHE_KEYS"),
		admin: admin(vars, { MOUNT_PATH: mount, SIZES_PATH: sizesAt }),
		zonePurge: zonePurge(vars),
	};
}

const parsed = new WeakMap<object, Config | ConfigError>();

/**
 * The Config for this env, validated on first use and kept for the isolate's
 * life (the env object is the same for every request of a deployment).
 */
export function loadConfig(env: object): Config {
	let entry = parsed.get(env);
	if (entry === undefined) {
		try {
			entry = parseConfig(env as Vars);
		} catch (err) {
			if (!(err instanceof ConfigError)) throw err;
			entry = err;
		}
		parsed.set(env, entry);
	}
	if (entry instanceof ConfigError) throw entry;
	return entry;
}
