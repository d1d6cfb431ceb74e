/**
 * The size table: for one upload, every file WordPress would make, in the
 * shape of WordPress's attachment metadata (`width`, `height`, `file`,
 * `sizes`), plus ready `srcset`/`sizes` attributes. The CMS reads it instead
 * of generating the files itself. It is computed from the same list the
 * serving path matches requests against (`servableSizes` in plan.ts), so every
 * file it names is served, with exactly the dimensions it states.
 */
import type { Context } from "hono";
import { cacheKeyRequest, cacheKeyUrl, keyOrigin, settingsHash, strongEtag } from "../cache/keys";
import type { Config } from "../config";
import { type AppEnv, finish } from "../http/respond";
import { MIME } from "../image/probe";
import type { UploadMeta } from "../origin/lookup";
import { Storage } from "../origin/storage";
import { decodedPixels, streamJob, uploadScale } from "../render/make";
import { servableSizes } from "../render/plan";
import { renderStreamedPreview, streams } from "../render/stream";
import { findUpload, generationFor, renderGate } from "../state";
import { fileOf, parseTablePath, publicPath, type UploadName, uploadKeys } from "../url/path";
import { type KeepAlive, keepAlive } from "../util/shared";
import { placeholderOf } from "./placeholder";
import { type Candidate, calculateSizes, calculateSrcset } from "./srcset";

/** One entry of `sizes`, as in WordPress's metadata plus the img attributes. */
export interface SizeTableEntry {
	/** Absolute URL of the file on this worker (as in the seed record). */
	readonly file: string;
	readonly width: number;
	readonly height: number;
	readonly "mime-type": string;
	/** WordPress's srcset for an <img> showing this file; absent when it prints none. */
	readonly srcset?: string;
	/** WordPress's default `sizes` attribute for this file. */
	readonly sizes_attr: string;
}

export interface SizeTable {
	/** The full-size file WordPress serves: the `-scaled`/`-rotated` copy, or the upload. */
	readonly file: string;
	readonly width: number;
	readonly height: number;
	readonly "mime-type": string;
	/** Bytes of the full-size file. */
	readonly filesize: number;
	/** The upload's own file name, when the full size is a copy of it (as WordPress records). */
	readonly original_image?: string;
	readonly srcset?: string;
	readonly sizes_attr: string;
	readonly sizes: Readonly<Record<string, SizeTableEntry>>;
	/** Image Placeholders' fields (the JSON route only): see placeholder.ts. */
	readonly dominant_color?: string;
	readonly has_transparency?: boolean;
}

/**
 * The key an upload's table is cached (and purged) under: the upload's key
 * with its extension lower-cased, as `parseUploadPath` gives it, whichever
 * case the request or the purge named it with.
 */
export function tableKey(upload: UploadName): string {
	return uploadKeys({ ...upload, ext: upload.ext.toLowerCase() }).upload;
}

/** Hash of the settings that change a size table (the sizes listed, the file URLs). */
export function tableSettings(config: Config): string {
	const { sizes, mountPath, limits, outputFormats } = config;
	return settingsHash(["table", sizes, [...outputFormats], mountPath, limits.maxOutputSide]);
}

/** Pure: the table for an upload whose metadata is known. */
export function buildSizeTable(meta: UploadMeta, config: Config, origin: string): SizeTable {
	const url = (key: string) => `${origin}${publicPath(config.mountPath, key)}`;
	const { source } = meta;
	const mime = MIME[source.info.format];
	const sizesMime = MIME[meta.sizesFormat];
	// The copies are upright; the upload itself is sized by its upright dimensions.
	const [fullWidth, fullHeight] =
		source.kind === "upload" ? [meta.width, meta.height] : [source.info.width, source.info.height];
	const made = servableSizes(meta, config);
	const full: Candidate = { url: url(source.key), width: fullWidth, height: fullHeight };
	const files: Candidate[] = made.map((s) => ({
		url: url(s.key),
		width: s.plan.width,
		height: s.plan.height,
	}));
	// WordPress offers the sizes in metadata order, then the full image.
	const candidates = [...files, full];
	const sizes: Record<string, SizeTableEntry> = {};
	made.forEach((size, i) => {
		const file = files[i] as Candidate;
		sizes[size.name] = {
			file: file.url,
			width: file.width,
			height: file.height,
			"mime-type": sizesMime,
			...optional("srcset", calculateSrcset(file, candidates)),
			sizes_attr: calculateSizes(file.width),
		};
	});
	return {
		file: full.url,
		width: full.width,
		height: full.height,
		"mime-type": mime,
		filesize: source.size,
		...(source.kind === "upload" ? {} : { original_image: fileOf(meta.uploadKey) }),
		...optional("srcset", calculateSrcset(full, candidates)),
		sizes_attr: calculateSizes(full.width),
		sizes,
	};
}

function optional<K extends string>(key: K, value: string | null): { [P in K]?: string } {
	return (value === null ? {} : { [key]: value }) as { [P in K]?: string };
}

/** Look the upload up (shared per-isolate memo with the serving path) and build its table. */
export async function sizeTableFor(
	env: Env,
	config: Config,
	origin: string,
	upload: UploadName,
	/** Keeps a lookup this call starts alive if the request is cancelled (see util/shared.ts). */
	keep?: KeepAlive,
	/** Also the colour placeholder (a small decode of the source). */
	withPlaceholder = false,
): Promise<SizeTable> {
	const uploadKey = uploadKeys(upload).upload;
	// Same memo key as the serving path: a purge makes both look the upload up again.
	const generation = await generationFor(env, config, uploadKey, uploadKey, keep);
	const meta = await findUpload(env, config, upload, generation, keep);
	const table = buildSizeTable(meta, config, origin);
	return withPlaceholder ? { ...table, ...(await uploadPlaceholder(env, config, meta)) } : table;
}

/**
 * The placeholder from the smallest decode the worker makes (a JPEG at 1/8
 * of its size; decodes already held are shared), in a render slot; an
 * upload whose sizes stream (a big PNG) is streamed into a small image instead.
 */
async function uploadPlaceholder(env: Env, config: Config, meta: UploadMeta) {
	const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
	const image = await renderGate.run(async () =>
		streams(meta, uploadScale(meta, config), config.limits)
			? renderStreamedPreview(storage, meta, streamJob(meta, config))
			: (await decodedPixels(storage, meta, config, 1)).image,
	);
	return placeholderOf(image);
}

/** `GET ${sizesPath}/<upload key>`: the table as JSON, kept in the edge cache. */
export async function serveSizeTable(c: Context<AppEnv>, rawRest: string): Promise<Response> {
	const { config } = c.var;
	const upload = parseTablePath(rawRest);
	const origin = keyOrigin(config.publicOrigin, c.req.url);
	// One entry per upload, whichever of its names was asked for; it carries the
	// upload's purge generation, so purging the image replaces it too.
	const uploadKey = tableKey(upload);
	const generation = await generationFor(
		c.env,
		config,
		uploadKey,
		uploadKey,
		keepAlive(c.executionCtx),
	);
	const settings = tableSettings(config);
	const keyUrl = cacheKeyUrl(origin, config.sizesPath, uploadKey, { generation, settings });
	const cache = caches.default;
	const cached = await cache.match(cacheKeyRequest(keyUrl));
	if (cached) return finish(c, cached, "HIT");

	c.set("negativeCacheKey", keyUrl);
	const keep = keepAlive(c.executionCtx);
	const table = await sizeTableFor(c.env, config, origin, upload, keep, true);
	const body = JSON.stringify(table);
	const stored = new Response(body, {
		status: 200,
		headers: {
			"Content-Type": "application/json; charset=utf-8",
			"Content-Length": String(new TextEncoder().encode(body).byteLength),
			"Cache-Control": config.cacheControl,
			ETag: await strongEtag(["sizes", settings, body]),
			// Public data a CMS admin page may read from its own origin.
			"Access-Control-Allow-Origin": "*",
			"X-Content-Type-Options": "nosniff",
		},
	});
	c.executionCtx.waitUntil(cache.put(cacheKeyRequest(keyUrl), stored.clone()));
	return finish(c, stored, "MISS");
}
