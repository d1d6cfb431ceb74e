/**
 * Every deployment variable, once: its kind, default, range, whether it is a
 * secret, and what it means. Parsing (config/index.ts), the status route's
 * redaction and the README's configuration table all follow from this table
 * (`npm run check` fails when the README disagrees; `node scripts/config-doc.mjs
 * --write` rewrites it). Pure data: no I/O.
 */

export type VarKind = "int" | "bool" | "text" | "path" | "prefix" | "origin" | "json" | "secret";

export interface VarSpec {
	readonly kind: VarKind;
	/** The value used when the variable is unset; absent means "off"/unset. */
	readonly default?: string | number | boolean;
	/** How the README shows the default when the raw value would not say enough. */
	readonly shown?: string;
	readonly min?: number;
	readonly max?: number;
	/** One README line: what it does, in a user's words. */
	readonly doc: string;
}

export const VARS = {
	MOUNT_PATH: {
		kind: "path",
		default: "/files",
		doc: "URL path the uploads folder is served under",
	},
	PUBLIC_ORIGIN: {
		kind: "origin",
		shown: "unset (each request's own origin)",
		doc: 'the one origin (`https://img.example.com`, no path) cache keys, size-table `file` URLs and purge use, so every hostname and scheme routed to the worker shares one cache entry; see "Cache and hostnames"',
	},
	SIZES_PATH: {
		kind: "path",
		default: "/_sizes",
		doc: "URL path of the size table (`<SIZES_PATH>/<upload key>`); may not overlap `MOUNT_PATH`",
	},
	DEMO_PAGE: {
		kind: "bool",
		default: false,
		doc: "`true` serves the demo page at `/`; `npm start` sets it with `--var DEMO_PAGE:true`",
	},
	DEMO_PREFIX: {
		kind: "prefix",
		default: "",
		shown: '`""` (whole bucket)',
		doc: "key prefix the demo page lists uploads under, e.g. `2025/09/` (first 1000 keys, 24 uploads at most)",
	},
	IMAGE_SIZES: {
		kind: "json",
		shown: "the seed site's seven sizes",
		doc: "registered sizes, in the exact JSON `wp_get_registered_image_subsizes()` prints",
	},
	OUTPUT_FORMATS: {
		kind: "json",
		default: "{}",
		doc: 'the site\'s `image_editor_output_format` mapping as JSON, e.g. `{"image/jpeg":"image/webp"}`: sizes of a JPEG upload are then `photo-730x487.webp` (quality: the output format\'s own setting); see "WordPress"',
	},
	JPEG_QUALITY: {
		kind: "int",
		default: 82,
		min: 1,
		max: 100,
		doc: "WordPress's default quality",
	},
	WEBP_QUALITY: {
		kind: "int",
		default: 86,
		min: 1,
		max: 100,
		doc: "WordPress's default WebP quality; for sizes of lossy WebP uploads",
	},
	NEGOTIATED_WEBP_QUALITY: {
		kind: "int",
		default: 80,
		min: 1,
		max: 100,
		doc: "WebP quality when `AUTO_FORMAT` serves a JPEG/PNG size as WebP. At 86 the seed photo's WebP was 1.15–1.26× our quality-82 JPEG (BENCHMARKS.md); libwebp at 80 measured about 0.6× the JPEG's bytes on colorful-cups and garden at −1.3…+0.9 dB PSNR",
	},
	PNG_LEVEL: {
		kind: "int",
		default: 1,
		min: 0,
		max: 6,
		doc: "oxipng effort of the queue's pass over PNG sizes (`optimizePng`: its file replaces ours in the `DERIVATIVES` tier only if ≥ 5% smaller; sizes over 2 MP are skipped; see [Background work](#background-work)), `0`–`6`; the request path always answers with our own encoder's file; `2` saves ~3% more bytes than `1` for about twice the CPU",
	},
	AVIF_QUALITY: {
		kind: "int",
		default: 65,
		min: 1,
		max: 100,
		doc: "libavif quality for AVIF sizes (of AVIF uploads, and AVIF made by the queue for AUTO_FORMAT). At speed 8, 65 is the lowest measured whose mean SSIM is at least our WebP q80's and JPEG q82's, with 12% fewer bytes than that WebP and 41% fewer than the JPEG (BENCHMARKS.md \"AVIF\")",
	},
	AVIF_SPEED: {
		kind: "int",
		default: 8,
		min: 0,
		max: 10,
		doc: "libaom speed for AVIF sizes (higher is faster, slightly larger). At 8 a 730x487 size took 0.4–0.5 s of CPU, at the encoder's default 6 about 5× that (BENCHMARKS.md)",
	},
	ANIMATED_GIF: {
		kind: "bool",
		default: false,
		doc: "`true`: sizes of an animated GIF are animated too (every frame resized, within `MAX_ANIMATION_PIXELS`); `false` makes them from the first frame, as WordPress does",
	},
	AUTO_FORMAT: {
		kind: "bool",
		default: false,
		doc: "`true`: serve JPEG/PNG sizes as WebP to browsers whose `Accept` names `image/webp` (see [Formats](#formats))",
	},
	CACHE_CONTROL: {
		kind: "text",
		default: "public, max-age=31536000, immutable",
		doc: "on derivatives (and originals without stored Cache-Control)",
	},
	NOT_FOUND_MAX_AGE: {
		kind: "int",
		default: 60,
		min: 0,
		max: 86_400,
		doc: "seconds a 404 for a size is remembered; `0` turns that off",
	},
	AVIF_PENDING_MAX_AGE: {
		kind: "int",
		default: 60,
		min: 1,
		max: 3600,
		doc: 'seconds the edge keeps the WebP an AVIF-capable browser gets while the queue has not made the AVIF yet (AUTO_FORMAT); see "Background work"',
	},
	MAX_SOURCE_BYTES: {
		kind: "int",
		default: 25 * 1024 * 1024,
		shown: "`26214400` (25 MiB)",
		min: 1024,
		max: 100 * 1024 * 1024,
		doc: "largest original downloaded for decoding",
	},
	MAX_SOURCE_PIXELS: {
		kind: "int",
		default: 100_000_000,
		min: 1,
		max: 100_000_000,
		doc: "largest original decoded (width × height); a baseline JPEG or non-interlaced PNG past 8 MiB of decode streams into the resize kernel (100 MP: 29-45 MB, BENCHMARKS.md)",
	},
	MAX_LOSSLESS_SOURCE_PIXELS: {
		kind: "int",
		default: 50_000_000,
		min: 1,
		max: 100_000_000,
		doc: "largest PNG or WebP original (width × height); a non-interlaced PNG past 8 MiB of RGBA (about 2 MP) is read row by row into the resize kernel, and past `MAX_SOURCE_PIXELS_WHOLE` a lossy WebP without alpha is cropped and scaled by libwebp as it decodes (every size of a 50 MP PNG within 96 MB: test/big-png.integration.test.ts; of a 50 MP lossy WebP too: test/big-webp.integration.test.ts); lossless WebP and WebP with alpha are decoded whole",
	},
	MAX_SOURCE_PIXELS_WHOLE: {
		kind: "int",
		default: 8_000_000,
		min: 1,
		max: 16_000_000,
		doc: "largest original decoded whole: lossless WebP and WebP with alpha, interlaced PNG, progressive JPEG, GIF, AVIF (8 MP: 72 MB of heaps and pixels for a JPEG; a lossless WebP's decoder heap 69 MB, an alpha one's 55 MB, plus the 32 MB of pixels copied out)",
	},
	MAX_ANIMATION_PIXELS: {
		kind: "int",
		default: 100_000_000,
		min: 1,
		max: 1_000_000_000,
		doc: "with `ANIMATED_GIF`, largest animation decoded: frames × width × height of the GIF, counted from its blocks before any pixel is decoded",
	},
	MAX_OUTPUT_SIDE: {
		kind: "int",
		default: 2560,
		min: 16,
		max: 8192,
		doc: "largest side of any derivative",
	},
	MAX_HEADER_BYTES: {
		kind: "int",
		default: 1024 * 1024,
		min: 4096,
		max: 16 * 1024 * 1024,
		doc: "most bytes read to find an original's dimensions",
	},
	R2_TIMEOUT_MS: {
		kind: "int",
		default: 10_000,
		min: 100,
		max: 60_000,
		doc: "budget for one R2 call; past it the client gets 503 with `Retry-After`",
	},
	RENDER_BUDGET_MS: {
		kind: "int",
		default: 20_000,
		min: 100,
		max: 120_000,
		doc: "budget for one render",
	},
	QUEUE_BATCH_BUDGET_MS: {
		kind: "int",
		default: 15_000,
		min: 1,
		max: 600_000,
		doc: 'wall time after which the queue consumer starts no further upload in a batch and puts the rest back on the queue (sent again, then acknowledged): Cloudflare stops a consumer invocation at 30 s of CPU unless `limits.cpu_ms` raises it, and one upload takes 0.5-4 s of CPU (more with AVIF); see "Background work"',
	},
	BENCH_ROUTES: {
		kind: "bool",
		default: false,
		doc: "`1` mounts `/__bench/*` (counters, WASM heap sizes, reset); only `npm run bench`'s generated config sets it — never in production",
	},
	ADMIN_TOKEN: {
		kind: "secret",
		shown: "unset: admin off",
		doc: "bearer token for the admin routes, at least 32 characters (`openssl rand -hex 32`); unset, every admin path is a 404",
	},
	ADMIN_PATH: {
		kind: "path",
		default: "/_admin",
		doc: "URL path of the admin routes; may not overlap `MOUNT_PATH` or `SIZES_PATH`",
	},
	CF_ZONE_ID: {
		kind: "text",
		doc: "the zone's 32-character hex id; with `CF_API_TOKEN`, purges also call Cloudflare's zone purge API",
	},
	CF_API_TOKEN: {
		kind: "secret",
		doc: "API token with the Zone → Cache Purge permission, for the zone purge API (with `CF_ZONE_ID`)",
	},
	PURGE_MAX_CACHE_KEYS: {
		kind: "int",
		default: 2000,
		min: 10,
		max: 10_000,
		doc: "most cache keys one purge request may touch; a larger request is refused whole with 413 (nothing purged): split it, or use a prefix. Deletes run 16 at a time, R2 lookups 6 uploads at a time, zone API calls 4 at a time",
	},
	GENERATION_MEMO_SECONDS: {
		kind: "int",
		default: 5,
		min: 0,
		max: 60,
		doc: 'how long an isolate trusts a purge generation it read from KV; see "Admin: purging"',
	},
	URL_SIGNING_KEY: {
		kind: "secret",
		shown: "unset (off)",
		doc: 'at least 32 bytes; signed URLs of any size (see "Signed URLs")',
	},
} as const satisfies Record<string, VarSpec>;

export type VarName = keyof typeof VARS;

/** The variables whose values never appear in a response, a header or a log. */
export const SECRET_VARS: readonly VarName[] = (Object.keys(VARS) as VarName[]).filter(
	(name) => VARS[name].kind === "secret",
);

/** How the README shows a variable's default. */
function shownDefault(spec: VarSpec): string {
	if (spec.shown !== undefined) return spec.shown;
	if (spec.default === undefined) return "unset";
	return `\`${String(spec.default)}\``;
}

/** How the README shows a variable's range, when it has one. */
function shownRange(spec: VarSpec): string {
	return spec.min !== undefined && spec.max !== undefined ? `; ${spec.min}–${spec.max}` : "";
}

/** The README's configuration table, one row per variable, from this spec. */
export function configTable(): string {
	const rows = (Object.entries(VARS) as [VarName, VarSpec][]).map(([name, spec]) => {
		const label = spec.kind === "secret" ? `\`${name}\` (secret)` : `\`${name}\``;
		return `| ${label} | ${shownDefault(spec)} | ${spec.doc}${shownRange(spec)} |`;
	});
	return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
