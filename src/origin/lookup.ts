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
import { fileOf, otherForms, type UploadName, uploadKeys } from "../url/path";
import { BoundedMap } from "../util/bounded-map";
import { type KeepAlive, Shared, SharedTimeoutError } from "../util/shared";
import {
	extensionFormat,
	type OutputFormats,
	sizesExtension,
	storedExtensions,
} from "./extensions";
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
	/** The extension and format WordPress writes this upload's sizes in (OUTPUT_FORMATS). */
	readonly sizesExt: string;
	readonly sizesFormat: ImageFormat;
}

/** What a lookup needs from the config. */
export interface LookupSettings {
	readonly limits: Limits;
	readonly outputFormats: OutputFormats;
}

const FIRST_READ = 64 * 1024;

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

type Probed = Awaited<ReturnType<typeof probeObject>>;

/** One place a file of the upload may be stored, and what was found there. */
interface Candidate {
	readonly key: string;
	readonly kind: SourceKind;
	readonly ext: string;
	readonly found: Probed;
}

/** The upload and its two full-size copies under each extension, probed in parallel. */
async function probeUpload(
	storage: Storage,
	upload: UploadName,
	settings: LookupSettings,
): Promise<Candidate[]> {
	const places = storedExtensions(upload.ext, settings.outputFormats).flatMap((ext) => {
		const keys = uploadKeys({ ...upload, ext });
		const kinds: SourceKind[] = ["scaled", "rotated", "upload"];
		return kinds.map((kind) => ({ key: keys[kind], kind, ext }));
	});
	const found = await Promise.all(places.map((p) => probeObject(storage, p.key, settings.limits)));
	return places.map((p, i) => ({ ...p, found: found[i] ?? null }));
}

/**
 * Look the upload up in R2: its header and its -scaled/-rotated copies',
 * in parallel ranged reads (under each extension the output-format mapping
 * allows). A name with letters beyond ASCII is tried in its other Unicode
 * normal form too when the first finds nothing.
 */
export async function lookupUpload(
	storage: Storage,
	upload: UploadName,
	settings: LookupSettings,
): Promise<UploadMeta> {
	const names = [upload.name, ...otherForms(upload.name)];
	for (const name of names) {
		const found = (await probeUpload(storage, { ...upload, name }, settings)).filter(
			(c) => c.found !== null,
		);
		if (found.length > 0) return uploadMeta({ ...upload, name }, found, settings);
	}
	throw new NotFoundError("No such image");
}

/**
 * From what was found: the pixels from the smallest full-size copy (-scaled,
 * then -rotated, then the upload), the dimensions WordPress sized by from
 * the original upload (upright), else from the copy (then ±1 px).
 */
function uploadMeta(upload: UploadName, found: Candidate[], settings: LookupSettings): UploadMeta {
	for (const c of found) checkFormat(c.key, c.ext, (c.found as NonNullable<Probed>).info);
	const pick = (kind: SourceKind) => found.find((c) => c.kind === kind);
	const chosen = (pick("scaled") ?? pick("rotated") ?? pick("upload")) as Candidate;
	const source = sourceFile(chosen.key, chosen.kind, chosen.found as NonNullable<Probed>);
	// The original (a source format's upload) over a converted full size.
	const original = found.filter((c) => c.kind === "upload").at(-1);
	const uploadKey = uploadKeys(upload).upload;
	const sizesExt = sizesExtension(original?.ext ?? upload.ext, settings.outputFormats);
	const sizes = { sizesExt, sizesFormat: extensionFormat(sizesExt) ?? source.info.format };
	if (original?.found) {
		const { width, height, orientation } = original.found.info;
		const upright = uprightSize(width, height, orientation);
		return {
			uploadKey,
			...upright,
			storedWidth: width,
			storedHeight: height,
			exact: true,
			source,
			...sizes,
		};
	}
	// No upload: its full-size copy is already upright; WordPress's sizes were
	// computed from the upload, so they may differ from ours by a pixel.
	const { width, height } = source.info;
	return {
		uploadKey,
		width,
		height,
		storedWidth: width,
		storedHeight: height,
		exact: false,
		source,
		...sizes,
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
