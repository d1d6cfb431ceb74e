/**
 * File extensions and formats: what a name's extension claims, the
 * Content-Type an object stored without one is served with, and the site's
 * output-format mapping (WordPress's `image_editor_output_format` filter:
 * e.g. JPEG uploads get WebP sizes). Pure: no I/O.
 */
import type { ImageFormat } from "../image/probe";

const EXTENSIONS: Record<string, { readonly type: string; readonly format?: ImageFormat }> = {
	jpg: { type: "image/jpeg", format: "jpeg" },
	jpeg: { type: "image/jpeg", format: "jpeg" },
	jpe: { type: "image/jpeg", format: "jpeg" },
	png: { type: "image/png", format: "png" },
	webp: { type: "image/webp", format: "webp" },
	gif: { type: "image/gif", format: "gif" },
	avif: { type: "image/avif", format: "avif" },
	heic: { type: "image/heic", format: "heic" },
	svg: { type: "image/svg+xml" },
	pdf: { type: "application/pdf" },
};

/** The extension WordPress gives a file it writes in a format (wp_get_default_extension_for_mime_type). */
const DEFAULT_EXTENSION: Record<ImageFormat, string> = {
	jpeg: "jpg",
	png: "png",
	webp: "webp",
	gif: "gif",
	avif: "avif",
	heic: "heic",
};

/** Source format → the format WordPress writes its sizes in (absent: the same). */
export type OutputFormats = ReadonlyMap<ImageFormat, ImageFormat>;

/** The format a file name's extension claims. */
export function extensionFormat(ext: string): ImageFormat | undefined {
	return EXTENSIONS[ext.toLowerCase()]?.format;
}

/** For objects stored without a content type: by extension, else opaque bytes. */
export function contentTypeFor(key: string): string {
	const ext = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
	return EXTENSIONS[ext]?.type ?? "application/octet-stream";
}

/** The format an upload's sizes are written in. */
export function sizesFormat(format: ImageFormat, mapping: OutputFormats): ImageFormat {
	return mapping.get(format) ?? format;
}

/** The extension of an upload's sizes: its own (lower-cased), or the mapped format's. */
export function sizesExtension(uploadExt: string, mapping: OutputFormats): string {
	const format = extensionFormat(uploadExt);
	const mapped = format && mapping.get(format);
	return mapped ? DEFAULT_EXTENSION[mapped] : uploadExt.toLowerCase();
}

/**
 * The extensions an upload named with `ext` may be stored under, in the
 * order its files are preferred: the sizes' format first (WordPress 6.7+
 * converts the full size too: `photo-scaled.webp`), then `ext` itself, then
 * every extension of a format the site maps to `ext`'s (the original
 * `photo.jpg` of `photo-730x487.webp`). Without a mapping: just `ext`.
 */
export function storedExtensions(ext: string, mapping: OutputFormats): string[] {
	const format = extensionFormat(ext);
	if (!format || mapping.size === 0) return [ext];
	const mapped = mapping.get(format);
	const sources = [...mapping].filter(([, to]) => to === format).map(([from]) => from);
	const exts = [
		...(mapped ? [DEFAULT_EXTENSION[mapped]] : []),
		ext,
		...sources.flatMap((from) => extensionsOf(from)),
	];
	return [...new Set(exts)];
}

/** Every extension naming a format, as uploads use them (`jpg`, `jpeg`). */
function extensionsOf(format: ImageFormat): string[] {
	return Object.entries(EXTENSIONS)
		.filter(([ext, e]) => e.format === format && ext !== "jpe")
		.map(([ext]) => ext);
}
