/**
 * Which original a derivative is cut from, and which dimensions WordPress
 * sized it by. WordPress sizes from the upload's own dimensions (after EXIF
 * rotation) but the pixels are best cut from its `-scaled` copy (then
 * `-rotated`, then the upload): smaller, faster, bounded in memory.
 *
 * The answer comes from small ranged reads of the three candidates' headers
 * and is kept in memory, so a later request for the same upload needs none.
 */
import type { Limits } from "../config";
import { LimitExceededError, NotFoundError, UnprocessableError } from "../http/errors";
import { uprightSize } from "../image/orientation";
import { type ImageFormat, type ImageInfo, probeImage } from "../image/probe";
import { fileOf, uploadKeys } from "../url/path";
import { BoundedMap } from "../util/bounded-map";
import { type KeepAlive, Shared, SharedTimeoutError } from "../util/shared";
import type { Storage } from "./storage";

export type SourceKind = "scaled" | "rotated" | "upload";

export interface SourceFile {
	readonly key: string;
	readonly kind: SourceKind;
	readonly etag: string;
	readonly size: number;
	readonly uploaded: Date;
	readonly info: ImageInfo;
}

export interface UploadMeta {
	readonly uploadKey: string;
	/** Dimensions WordPress sized by: the upload's, upright. */
	readonly width: number;
	readonly height: number;
	/** The upload's dimensions as stored, before EXIF rotation. */
	readonly storedWidth: number;
	readonly storedHeight: number;
	/** False when the upload is missing and the dimensions are its copy's (±1 px). */
	readonly exact: boolean;
	/** Where the pixels come from. */
	readonly source: SourceFile;
}

const FIRST_READ = 64 * 1024;

/**
 * What a file name's extension says: the Content-Type to send for an original
 * stored without one, and the image format WordPress writes its sizes in.
 */
const EXTENSIONS: Record<string, { readonly type: string; readonly format?: ImageFormat }> = {
	jpg: { type: "image/jpeg", format: "jpeg" },
	jpeg: { type: "image/jpeg", format: "jpeg" },
	jpe: { type: "image/jpeg", format: "jpeg" },
	png: { type: "image/png", format: "png" },
	webp: { type: "image/webp", format: "webp" },
	gif: { type: "image/gif", format: "gif" },
	avif: { type: "image/avif", format: "avif" },
	svg: { type: "image/svg+xml" },
	pdf: { type: "application/pdf" },
};

/** The format a file name's extension claims (what WordPress writes its sizes in). */
export function extensionFormat(ext: string): ImageFormat | undefined {
	return EXTENSIONS[ext.toLowerCase()]?.format;
}

/** For objects stored without a content type: by extension, else opaque bytes. */
export function contentTypeFor(key: string): string {
	const ext = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
	return EXTENSIONS[ext]?.type ?? "application/octet-stream";
}

/** Read just enough of an object's head to know its format and size. */
export async function probeObject(
	storage: Storage,
	key: string,
	limits: Limits,
): Promise<{ object: R2Object; info: ImageInfo } | null> {
	let length = FIRST_READ;
	for (;;) {
		const read = await storage.readPrefix(key, length);
		if (!read) return null;
		if (read.object.size === 0) throw new UnprocessableError("Original is an empty file");
		const result = probeImage(read.bytes);
		if (result.ok) return { object: read.object, info: result.info };
		if (read.bytes.byteLength >= read.object.size) {
			throw new UnprocessableError("Original is truncated before its image header ends");
		}
		if (result.needBytes > limits.maxHeaderBytes) {
			throw new LimitExceededError("MAX_HEADER_BYTES", "Image header too large");
		}
		length = Math.min(limits.maxHeaderBytes, Math.max(result.needBytes, length * 4));
	}
}

/** The upload's content must be what its extension says (magic bytes, not names). */
export function checkFormat(key: string, ext: string, info: ImageInfo): void {
	const expected = extensionFormat(ext);
	if (expected !== info.format) {
		throw new UnprocessableError(
			`${fileOf(key)} holds ${info.format.toUpperCase()} data, not ${(expected ?? ext).toUpperCase()}`,
		);
	}
}

function sourceFile(
	key: string,
	kind: SourceKind,
	found: { object: R2Object; info: ImageInfo },
): SourceFile {
	return {
		key,
		kind,
		etag: found.object.etag,
		size: found.object.size,
		uploaded: found.object.uploaded,
		info: found.info,
	};
}

/** Look the upload up in R2 (three ranged reads in parallel). */
export async function lookupUpload(
	storage: Storage,
	dir: string,
	name: string,
	ext: string,
	limits: Limits,
): Promise<UploadMeta> {
	const keys = uploadKeys({ dir, name, ext });
	const [upload, scaled, rotated] = await Promise.all([
		probeObject(storage, keys.upload, limits),
		probeObject(storage, keys.scaled, limits),
		probeObject(storage, keys.rotated, limits),
	]);
	const source = scaled
		? sourceFile(keys.scaled, "scaled", scaled)
		: rotated
			? sourceFile(keys.rotated, "rotated", rotated)
			: upload
				? sourceFile(keys.upload, "upload", upload)
				: undefined;
	if (!source) throw new NotFoundError("No such image");
	checkFormat(source.key, ext, source.info);
	if (upload) {
		checkFormat(keys.upload, ext, upload.info);
		const { width, height, orientation } = upload.info;
		return {
			uploadKey: keys.upload,
			...uprightSize(width, height, orientation),
			storedWidth: width,
			storedHeight: height,
			exact: true,
			source,
		};
	}
	// No upload: its full-size copy is already upright; WordPress's sizes were
	// computed from the upload, so they may differ from ours by a pixel.
	const { width, height } = source.info;
	return {
		uploadKey: keys.upload,
		width,
		height,
		storedWidth: width,
		storedHeight: height,
		exact: false,
		source,
	};
}

/**
 * Per-isolate memory of lookups, bounded in count. Concurrent lookups of one
 * upload share a single set of R2 reads. A failed lookup is remembered only
 * when it is a 404, and only briefly.
 */
export class UploadDirectory {
	readonly #entries: BoundedMap<Shared<UploadMeta>>;

	constructor(
		readonly maxEntries = 2000,
		readonly ttlMs = 10 * 60_000,
		readonly negativeTtlMs = 60_000,
		/** Longest a request waits for a lookup another request started. */
		readonly maxWaitMs = 60_000,
	) {
		this.#entries = new BoundedMap({ maxEntries });
	}

	/**
	 * A lookup another request started is watched, never awaited (see Shared).
	 * `keep` keeps a lookup this call starts running if this request is
	 * cancelled; an entry that stays unsettled past `maxWaitMs` (its starter
	 * was cancelled without one) is dropped by the next caller or by the
	 * waiter that gives up on it.
	 */
	get(
		cacheKey: string,
		lookup: () => Promise<UploadMeta>,
		keep?: KeepAlive,
		now = Date.now(),
	): Promise<UploadMeta> {
		const hit = this.#entries.get(cacheKey, now);
		if (hit && !hit.stale(this.maxWaitMs, now)) return this.#wait(cacheKey, hit);
		const promise = lookup();
		const value = new Shared(promise);
		this.#entries.set(cacheKey, value, now + this.ttlMs);
		// Cleanup happens in the lookup's own settlement, whoever is still waiting.
		const settled = promise.catch((err) => {
			if (this.#entries.peek(cacheKey, now) !== value) return;
			if (err instanceof NotFoundError) {
				this.#entries.update(cacheKey, now + this.negativeTtlMs, 0);
			} else {
				this.#entries.delete(cacheKey);
			}
		});
		keep?.(settled);
		return this.#wait(cacheKey, value);
	}

	async #wait(cacheKey: string, value: Shared<UploadMeta>): Promise<UploadMeta> {
		try {
			return await value.get(this.maxWaitMs);
		} catch (err) {
			// Gave up on it: the next request looks the upload up afresh.
			if (err instanceof SharedTimeoutError && this.#entries.peek(cacheKey) === value) {
				this.#entries.delete(cacheKey);
			}
			throw err;
		}
	}

	/** Forget everything under a key prefix ("" = all). */
	forget(prefix: string): number {
		return this.#entries.deleteWhere((key) => key.startsWith(prefix));
	}
}
