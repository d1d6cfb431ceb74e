/**
 * Colour placeholders, as the Image Placeholders plugin stores them in an
 * attachment's metadata (`dominant_color`, `has_transparency`): the average
 * colour (what a 1x1 resample gives, weighted by alpha so a transparent
 * surround does not grey it) and whether any pixel is not fully opaque.
 * Pure: no I/O.
 */
import type { RGBAImage } from "../image/orientation";

export interface Placeholder {
	/** Six lower-case hex digits, no `#`. */
	readonly dominant_color: string;
	readonly has_transparency: boolean;
}

export function placeholderOf(image: RGBAImage): Placeholder {
	const { data } = image;
	const sum = [0, 0, 0];
	let weight = 0;
	let transparent = false;
	for (let i = 0; i < data.length; i += 4) {
		const a = data[i + 3] ?? 255;
		if (a < 255) transparent = true;
		sum[0] = (sum[0] ?? 0) + (data[i] ?? 0) * a;
		sum[1] = (sum[1] ?? 0) + (data[i + 1] ?? 0) * a;
		sum[2] = (sum[2] ?? 0) + (data[i + 2] ?? 0) * a;
		weight += a;
	}
	const hex = sum
		.map((s) => Math.round(weight > 0 ? s / weight : 0))
		.map((v) => v.toString(16).padStart(2, "0"))
		.join("");
	return { dominant_color: hex, has_transparency: transparent };
}
