/**
 * Deployment configuration, read from wrangler `[vars]` and secrets, validated
 * once per isolate. A bad value never falls back to a default silently: every
 * request then fails with a ConfigError whose log line names the variable.
 */
import { ConfigError } from "./http/errors";
import { MIN_KEY_BYTES } from "./http/signing";
import { DEFAULT_SIZES, parseSizeRegistry, type SizeRegistry } from "./wp/sizes";

export interface Limits {
	/** Largest original (bytes) the worker will download to decode. */
	readonly maxSourceBytes: number;
	/** Largest original (width × height) the worker will decode. */
	readonly maxSourcePixels: number;
	/** Largest PNG (width × height) it will read; past 8 MP it streams (render/limits.ts). */
	readonly maxLosslessSourcePixels: number;
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
	readonly jpegQuality: number;
	/** Quality of lossy WebP output (WebP sizes of lossy WebP, negotiated WebP). */
	readonly webpQuality: number;
	/** WebP quality when a JPEG/PNG size is served as WebP (AUTO_FORMAT). */
	readonly negotiatedWebpQuality: number;
	/** oxipng effort for the background PNG optimisation (optimizePng), 0 (fast) – 6 (smallest). */
	readonly pngLevel: number;
	/** Serve JPEG/PNG derivatives as WebP to clients whose Accept asks for it. */
	readonly autoFormat: boolean;
	readonly cacheControl: string;
	readonly notFoundMaxAge: number;
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

export const DEFAULTS = {
	MOUNT_PATH: "/files",
	SIZES_PATH: "/_sizes",
	DEMO_PAGE: false,
	DEMO_PREFIX: "",
	JPEG_QUALITY: 82,
	WEBP_QUALITY: 86,
	NEGOTIATED_WEBP_QUALITY: 80,
	PNG_LEVEL: 1,
	AUTO_FORMAT: false,
	CACHE_CONTROL: "public, max-age=31536000, immutable",
	NOT_FOUND_MAX_AGE: 60,
	MAX_SOURCE_BYTES: 25 * 1024 * 1024,
	MAX_SOURCE_PIXELS: 8_000_000,
	MAX_LOSSLESS_SOURCE_PIXELS: 50_000_000,
	MAX_OUTPUT_SIDE: 2560,
	MAX_HEADER_BYTES: 1024 * 1024,
	R2_TIMEOUT_MS: 10_000,
	RENDER_BUDGET_MS: 20_000,
	ADMIN_PATH: "/_admin",
	GENERATION_MEMO_SECONDS: 5,
	PURGE_MAX_CACHE_KEYS: 2000,
} as const;

/** Shortest ADMIN_TOKEN accepted: a guessable token must not turn admin on. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

type Vars = Readonly<Record<string, unknown>>;

function str(vars: Vars, name: string): string | undefined {
	const value = vars[name];
	if (value === undefined || value === null || value === "") return undefined;
	if (typeof value !== "string") throw new ConfigError(name, "must be a string");
	return value;
}

function int(vars: Vars, name: string, fallback: number, min: number, max: number): number {
	const raw = str(vars, name);
	if (raw === undefined) return fallback;
	if (!/^\d+$/.test(raw.replaceAll("_", ""))) throw new ConfigError(name, `not an integer: ${raw}`);
	const value = Number(raw.replaceAll("_", ""));
	if (value < min || value > max) {
		throw new ConfigError(name, `${value} is outside ${min}..${max}`);
	}
	return value;
}

/** A URL path made of one or more plain segments, no trailing slash. */
function urlPath(vars: Vars, name: string, fallback: string): string {
	const raw = str(vars, name) ?? fallback;
	// So `${path}/${key}` is the only shape a request under it can take.
	if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(raw) || /\/\.\.?(\/|$)/.test(raw)) {
		throw new ConfigError(name, `must look like ${fallback}, got ${JSON.stringify(raw)}`);
	}
	return raw;
}

/** An absolute http(s) origin with no path, query, fragment or credentials. */
function publicOrigin(vars: Vars): string | undefined {
	const raw = str(vars, "PUBLIC_ORIGIN");
	if (raw === undefined) return undefined;
	const bad = () =>
		new ConfigError(
			"PUBLIC_ORIGIN",
			`must be an origin like https://img.example.com, got ${JSON.stringify(raw)}`,
		);
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw bad();
	}
	if (
		(url.protocol !== "https:" && url.protocol !== "http:") ||
		url.username !== "" ||
		url.password !== "" ||
		url.pathname !== "/" ||
		url.search !== "" ||
		url.hash !== ""
	) {
		throw bad();
	}
	return url.origin;
}

function mountPath(vars: Vars): string {
	return urlPath(vars, "MOUNT_PATH", DEFAULTS.MOUNT_PATH);
}

/** The size-table path; it must not lie inside the uploads mount or contain it. */
function sizesPath(vars: Vars, mount: string): string {
	const path = urlPath(vars, "SIZES_PATH", DEFAULTS.SIZES_PATH);
	if (path === mount || path.startsWith(`${mount}/`) || mount.startsWith(`${path}/`)) {
		throw new ConfigError("SIZES_PATH", `${path} overlaps MOUNT_PATH ${mount}`);
	}
	return path;
}

function bool(vars: Vars, name: string, fallback: boolean): boolean {
	const raw = str(vars, name);
	if (raw === undefined) return fallback;
	if (raw === "true" || raw === "1") return true;
	if (raw === "false" || raw === "0") return false;
	throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function prefix(vars: Vars, name: string, fallback: string): string {
	const raw = str(vars, name) ?? fallback;
	// A key prefix: folders of the uploads bucket, e.g. `2025/09/`.
	if (raw.length > 256 || !/^([A-Za-z0-9._~-]+\/)*$/.test(raw) || /(^|\/)\.\.?\//.test(raw)) {
		throw new ConfigError(name, `must be empty or like 2025/09/, got ${JSON.stringify(raw)}`);
	}
	return raw;
}

const within = (path: string, base: string) => path === base || path.startsWith(`${base}/`);

/** Admin is on only with a long enough ADMIN_TOKEN and somewhere to keep generations. */
function admin(vars: Vars, taken: Readonly<Record<string, string>>): AdminConfig | undefined {
	const token = str(vars, "ADMIN_TOKEN");
	if (token === undefined) return undefined;
	// RFC 6750 b64token characters only: any other token could never be sent
	// in an Authorization header. The message never includes the token.
	if (token.length < MIN_ADMIN_TOKEN_LENGTH || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
		throw new ConfigError(
			"ADMIN_TOKEN",
			`must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32)`,
		);
	}
	const path = urlPath(vars, "ADMIN_PATH", DEFAULTS.ADMIN_PATH);
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
	const zoneId = str(vars, "CF_ZONE_ID");
	const apiToken = str(vars, "CF_API_TOKEN");
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
	const raw = str(vars, "IMAGE_SIZES");
	if (raw === undefined) return DEFAULT_SIZES;
	let json: unknown;
	try {
		json = JSON.parse(raw);
	} catch (err) {
		throw new ConfigError("IMAGE_SIZES", `not JSON: ${(err as Error).message}`);
	}
	try {
		return parseSizeRegistry(json);
	} catch (err) {
		throw new ConfigError("IMAGE_SIZES", (err as Error).message);
	}
}

function signingKey(vars: Vars): string | undefined {
	const key = str(vars, "URL_SIGNING_KEY");
	if (key !== undefined && new TextEncoder().encode(key).byteLength < MIN_KEY_BYTES) {
		throw new ConfigError("URL_SIGNING_KEY", `must be at least ${MIN_KEY_BYTES} bytes`);
	}
	return key;
}

/** Pure: validate raw vars into a Config. Throws ConfigError naming the variable. */
export function parseConfig(vars: Vars): Config {
	const cacheControl = str(vars, "CACHE_CONTROL") ?? DEFAULTS.CACHE_CONTROL;
	if (/[\r\n]/.test(cacheControl)) throw new ConfigError("CACHE_CONTROL", "must be one line");
	const mount = mountPath(vars);
	const sizesAt = sizesPath(vars, mount);
	return {
		publicOrigin: publicOrigin(vars),
		mountPath: mount,
		sizesPath: sizesAt,
		demoPage: bool(vars, "DEMO_PAGE", DEFAULTS.DEMO_PAGE),
		demoPrefix: prefix(vars, "DEMO_PREFIX", DEFAULTS.DEMO_PREFIX),
		sizes: sizes(vars),
		jpegQuality: int(vars, "JPEG_QUALITY", DEFAULTS.JPEG_QUALITY, 1, 100),
		webpQuality: int(vars, "WEBP_QUALITY", DEFAULTS.WEBP_QUALITY, 1, 100),
		negotiatedWebpQuality: int(
			vars,
			"NEGOTIATED_WEBP_QUALITY",
			DEFAULTS.NEGOTIATED_WEBP_QUALITY,
			1,
			100,
		),
		pngLevel: int(vars, "PNG_LEVEL", DEFAULTS.PNG_LEVEL, 0, 6),
		autoFormat: bool(vars, "AUTO_FORMAT", DEFAULTS.AUTO_FORMAT),
		cacheControl,
		notFoundMaxAge: int(vars, "NOT_FOUND_MAX_AGE", DEFAULTS.NOT_FOUND_MAX_AGE, 0, 86_400),
		benchRoutes: bool(vars, "BENCH_ROUTES", false),
		urlSigningKey: signingKey(vars),
		limits: {
			maxSourceBytes: int(
				vars,
				"MAX_SOURCE_BYTES",
				DEFAULTS.MAX_SOURCE_BYTES,
				1024,
				100 * 1024 * 1024,
			),
			maxSourcePixels: int(vars, "MAX_SOURCE_PIXELS", DEFAULTS.MAX_SOURCE_PIXELS, 1, 16_000_000),
			maxLosslessSourcePixels: int(
				vars,
				"MAX_LOSSLESS_SOURCE_PIXELS",
				DEFAULTS.MAX_LOSSLESS_SOURCE_PIXELS,
				1,
				100_000_000,
			),
			maxOutputSide: int(vars, "MAX_OUTPUT_SIDE", DEFAULTS.MAX_OUTPUT_SIDE, 16, 8192),
			maxHeaderBytes: int(
				vars,
				"MAX_HEADER_BYTES",
				DEFAULTS.MAX_HEADER_BYTES,
				4096,
				16 * 1024 * 1024,
			),
			r2TimeoutMs: int(vars, "R2_TIMEOUT_MS", DEFAULTS.R2_TIMEOUT_MS, 100, 60_000),
			renderBudgetMs: int(vars, "RENDER_BUDGET_MS", DEFAULTS.RENDER_BUDGET_MS, 100, 120_000),
		},
		generationMemoMs:
			1000 * int(vars, "GENERATION_MEMO_SECONDS", DEFAULTS.GENERATION_MEMO_SECONDS, 0, 60),
		purgeMaxCacheKeys: int(vars, "PURGE_MAX_CACHE_KEYS", DEFAULTS.PURGE_MAX_CACHE_KEYS, 10, 10_000),
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
