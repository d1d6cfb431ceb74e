/**
 * Output format negotiation (opt-in with AUTO_FORMAT). Pure: no I/O.
 *
 * `Accept` is reduced to the one format we would serve, so the cache holds at
 * most two entries per derivative (its own format, and WebP) however many
 * different `Accept` strings browsers send. Only an explicit `image/webp`
 * with q > 0 counts: wildcards (`image/*`, the any-type range) are sent
 * by clients that cannot decode WebP (curl, old browsers, many bots), so they get the file's own
 * format. AVIF goes to clients that name both: it is made by the queue
 * consumer, never on the request path; until it exists they get the WebP,
 * briefly cached (see http/avif.ts and README "Background work").
 */

import { avifWithinBudget } from "../image/avif-budget";
import type { OutputFormat } from "../image/formats";
import type { ImageFormat } from "../image/probe";

export type AcceptClass = "avif" | "webp" | "neither";

/** RFC 9110 §12.5.1: media ranges with an optional weight; q=0 means "not acceptable". */
export function acceptClass(accept: string | null | undefined): AcceptClass {
	if (!accept) return "neither";
	let webp = false;
	let avif = false;
	for (const range of accept.toLowerCase().split(",")) {
		const [type = "", ...params] = range.split(";").map((p) => p.trim());
		const q = params.find((p) => /^q\s*=/.test(p));
		const weight = q === undefined ? 1 : Number(q.replace(/^q\s*=\s*/, ""));
		if (!(weight > 0)) continue;
		if (type === "image/webp") webp = true;
		if (type === "image/avif") avif = true;
	}
	// A client that takes AVIF but says nothing of WebP still gets the original format.
	if (avif && webp) return "avif";
	return webp ? "webp" : "neither";
}

/** Formats that may be replaced by a negotiated one. */
const NEGOTIABLE: ReadonlySet<ImageFormat> = new Set(["jpeg", "png"]);

/**
 * The format to serve a derivative in: its own, unless negotiation is on, the
 * file is a JPEG or PNG and the client asked for WebP; AVIF for a client that
 * takes both, when the size (`width` × `height`, if known) is within the AVIF
 * encode budget (else WebP).
 */
export function negotiateFormat(
	own: ImageFormat,
	accept: AcceptClass,
	autoFormat: boolean,
	size?: { readonly width: number; readonly height: number },
): OutputFormat {
	// A size keeps its upload's format (GIF stays GIF, AVIF stays AVIF); HEIC never renders.
	const fallback: OutputFormat = own === "heic" ? "jpeg" : own;
	if (!autoFormat || !NEGOTIABLE.has(own)) return fallback;
	if (accept === "neither") return fallback;
	const avif = accept === "avif" && (!size || avifWithinBudget(size.width, size.height));
	return avif ? "avif" : "webp";
}

/** Whether responses for this file vary by `Accept` (they must then say so). */
export function variesByAccept(own: ImageFormat, autoFormat: boolean): boolean {
	return autoFormat && NEGOTIABLE.has(own);
}
