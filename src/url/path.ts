/**
 * WordPress upload paths: the part of a URL after the mount, turned into an
 * R2 key and, when the file name ends in a size suffix, the size asked for.
 * Pure: no I/O. Every rejection is a typed error, never a thrown TypeError.
 */
import { BadRequestError, NotFoundError } from "../http/errors";

/** Longest key (bytes after decoding) we accept; R2 allows 1024. */
export const MAX_KEY_BYTES = 1024;

export interface OriginalPath {
	readonly kind: "original";
	/** The R2 key, e.g. `2025/09/photo-scaled.jpeg`. */
	readonly key: string;
}

export interface DerivativePath extends UploadName {
	readonly kind: "derivative";
	/** The derivative's own key, e.g. `2025/09/photo-730x487.jpeg`. */
	readonly key: string;
	/** Folder with a trailing slash (`2025/09/`), or `""` at the bucket root. */
	readonly dir: string;
	/** The upload's base name, e.g. `photo`. */
	readonly name: string;
	/** Extension as written (lower case for derivatives), without the dot. */
	readonly ext: string;
	readonly width: number;
	readonly height: number;
}

export type ImagePath = OriginalPath | DerivativePath;

/**
 * The one grammar of a WordPress file name: a stem, then at most one of a
 * full-size copy's suffix (`-scaled`, `-rotated`) or a size suffix (`-WxH`:
 * plain decimals, no sign, no leading zero, lower-case x; five digits is
 * already far past any output limit), then the extension. The stem is the
 * shortest that fits, so `a-b-3x4-730x487.jpeg` has the size 730x487.
 */
const FILE_NAME =
	/^(.+?)(?:-(scaled|rotated)|-([1-9][0-9]{0,4})x([1-9][0-9]{0,4}))?\.([A-Za-z0-9]{2,5})$/;

/** A file name split by the grammar above. */
export interface FileName {
	readonly stem: string;
	readonly copy?: "scaled" | "rotated";
	readonly size?: { readonly width: number; readonly height: number };
	/** As written. */
	readonly ext: string;
}

/** Split a file name (no folder) by WordPress's grammar; null when it has no extension. */
export function parseFileName(file: string): FileName | null {
	const m = FILE_NAME.exec(file);
	if (!m) return null;
	const [, stem = "", copy, w, h, ext = ""] = m;
	if (copy) return { stem, copy: copy as "scaled" | "rotated", ext };
	if (w && h) return { stem, size: { width: Number(w), height: Number(h) }, ext };
	return { stem, ext };
}

// WordPress renames uploads that end in these, so an upload can never have
// such a name and a derivative can never be cut from a `-scaled` copy's name.
const RESERVED_SUFFIX = /-(scaled|rotated)$/;

const utf8 = new TextEncoder();

function decodeSegment(raw: string): string {
	let segment: string;
	try {
		segment = decodeURIComponent(raw);
	} catch {
		throw new BadRequestError("Malformed percent-encoding in path");
	}
	// Decoded exactly once: whatever is left that could move us to another
	// folder or confuse a key never reaches R2.
	if (
		segment === "" ||
		segment.startsWith(".") ||
		/[/\\]/.test(segment) ||
		// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
		/[\u0000-\u001f\u007f]/.test(segment)
	) {
		throw new NotFoundError("Not Found");
	}
	// A lone surrogate cannot come from a URL (the runtime encodes text as
	// UTF-8) and has no UTF-8 form, so it could not be a key or be printed back.
	if (/\p{Cs}/u.test(segment)) throw new BadRequestError("Malformed path");
	return segment;
}

/**
 * Parse the raw (still percent-encoded) path after `${mount}/`.
 * `2025/09/x-730x487.jpeg` → derivative of `2025/09/x.jpeg` at 730x487.
 */
export function parseImagePath(rawRest: string): ImagePath {
	if (rawRest.length > MAX_KEY_BYTES * 3) throw new BadRequestError("Path too long");
	const segments = rawRest.split("/").map(decodeSegment);
	const key = segments.join("/");
	if (utf8.encode(key).byteLength > MAX_KEY_BYTES) throw new BadRequestError("Path too long");
	const file = segments[segments.length - 1] ?? "";
	const dir = key.slice(0, key.length - file.length);
	const parsed = parseFileName(file);
	// WordPress lower-cases a size's extension: only an upload can have another.
	if (!parsed?.size || parsed.ext !== parsed.ext.toLowerCase()) return { kind: "original", key };
	if (RESERVED_SUFFIX.test(parsed.stem)) throw new NotFoundError("Not Found");
	const { stem: name, ext, size } = parsed;
	return { kind: "derivative", key, dir, name, ext, ...size };
}

/** The file name of a key: what follows its last `/`. */
export function fileOf(key: string): string {
	return key.slice(key.lastIndexOf("/") + 1);
}

export interface UploadName {
	/** Folder with a trailing slash, or `""`. */
	readonly dir: string;
	/** Base name without `-scaled`/`-rotated` and extension. */
	readonly name: string;
	/** Extension as WordPress writes it on sub-sizes: lower case, no dot. */
	readonly ext: string;
}

/** The keys WordPress writes for one upload: itself and its full-size copies. */
export function uploadKeys({ dir, name, ext }: UploadName) {
	return {
		upload: `${dir}${name}.${ext}`,
		scaled: `${dir}${name}-scaled.${ext}`,
		rotated: `${dir}${name}-rotated.${ext}`,
	} as const;
}

/** The upload's own key. */
export function uploadKey(upload: UploadName): string {
	return uploadKeys(upload).upload;
}

/** The derivative's key for a size, as WordPress names it. */
export function derivativeKey({ dir, name, ext }: UploadName, w: number, h: number) {
	return `${dir}${name}-${w}x${h}.${ext}`;
}

/** A key's folder (with its trailing slash) and file name. */
function splitKey(key: string): { dir: string; file: string } {
	const file = fileOf(key);
	return { dir: key.slice(0, key.length - file.length), file };
}

/**
 * The upload a key belongs to: itself, or the upload behind a `-scaled`,
 * `-rotated` or `-WxH` name. Used by purge to find every variant of an image.
 */
export function uploadKeyOf(key: string): string {
	const { dir, file } = splitKey(key);
	const parsed = parseFileName(file);
	return parsed ? `${dir}${parsed.stem}.${parsed.ext}` : key;
}

/**
 * A key in its canonical raw form (what follows `${mount}/`): each segment
 * percent-encoded the same way, so `parseImagePath(encodeKey(key))` gives the
 * key back.
 */
export function encodeKey(key: string): string {
	return key.split("/").map(encodeURIComponent).join("/");
}

/** Parse a key as stored in R2 (not percent-encoded), with the URL's rules. */
export function parseKey(key: string): ImagePath {
	return parseImagePath(encodeKey(key));
}

/** The canonical URL path for a key: each segment encoded the same way. */
export function publicPath(mountPath: string, key: string): string {
	return `${mountPath}/${encodeKey(key)}`;
}

/**
 * The upload a size-table request names: the raw path after the table's
 * mount, being the upload's own key or its `-scaled`/`-rotated` copy's.
 * A sub-size's name (`-WxH`) is not an upload: 404. The extension is lower
 * cased as on WordPress's sub-size files, so the table finds exactly the
 * upload its listed files are served from.
 */
export function parseUploadPath(rawRest: string): UploadName {
	const path = parseImagePath(rawRest);
	if (path.kind === "derivative") throw new NotFoundError("Not an upload");
	const { dir, file } = splitKey(path.key);
	const parsed = parseFileName(file);
	if (!parsed || parsed.size) throw new NotFoundError("Not an upload");
	return { dir, name: parsed.stem, ext: parsed.ext.toLowerCase() };
}

/**
 * The same text in Unicode's other normal forms, when it differs: a file
 * uploaded from a Mac may be stored decomposed (NFD) while pages link the
 * composed form (NFC), or the other way round.
 */
export function otherForms(text: string): string[] {
	const forms = new Set([text.normalize("NFC"), text.normalize("NFD")]);
	forms.delete(text);
	return [...forms];
}

/**
 * The upload a size-table request names. As parseUploadPath, except that a
 * name ending in -WxH is the upload's own name: uploads from before
 * WordPress 5.3 kept such names (`IMG-2048x1536.jpeg`), and the CMS asks for
 * the table of an upload, never of a size.
 */
export function parseTablePath(rawRest: string): UploadName {
	const path = parseImagePath(rawRest);
	if (path.kind === "original") return parseUploadPath(rawRest);
	const { dir, file } = splitKey(path.key);
	const dot = file.lastIndexOf(".");
	return { dir, name: file.slice(0, dot), ext: path.ext };
}

/** Split an upload's key into folder, base name and extension (at its last dot). */
export function splitUploadKey(key: string): UploadName {
	const { dir, file } = splitKey(key);
	const dot = file.lastIndexOf(".");
	return {
		dir,
		name: dot > 0 ? file.slice(0, dot) : file,
		ext: dot > 0 ? file.slice(dot + 1) : "",
	};
}
