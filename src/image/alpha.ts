/**
 * Make the colour of faint pixels compressible without changing what they
 * look like. A pixel with alpha a contributes rgb × a / 255 to whatever it is
 * drawn over, so every rgb with the same 8-bit premultiplied value looks the
 * same. Un-premultiplying after a resize picks one of them more or less at
 * random, and a soft shadow or glow then becomes noise that PNG's filters
 * cannot predict (3× the bytes). This picks, within that invisible range, the
 * value closest to the pixel on the left, so runs of faint pixels become
 * smooth. Opaque and fully transparent pixels are left alone. Pure: no I/O.
 */
import type { RGBAImage } from "./orientation";

/**
 * Returns a new image: the input may be a decode other renders share (a size
 * at the source's own size skips the resize), which is never mutated.
 */
export function smoothFaintColours(image: RGBAImage): RGBAImage {
	const { width, height } = image;
	const data = image.data.slice();
	for (let y = 0; y < height; y++) {
		for (let x = 1; x < width; x++) {
			const i = (y * width + x) * 4;
			const a = data[i + 3] ?? 0;
			if (a === 0 || a === 255) continue;
			for (let c = 0; c < 3; c++) {
				const v = data[i + c] ?? 0;
				const p = Math.round((v * a) / 255);
				// Every value whose premultiplied 8-bit value is also p.
				const lo = Math.max(0, Math.ceil(((p - 0.5) * 255) / a));
				const hi = Math.min(255, Math.floor(((p + 0.5) * 255) / a));
				const left = data[i - 4 + c] ?? v;
				const pick = Math.min(hi, Math.max(lo, left));
				// Guard the rounding edges: keep the original if the pick would differ.
				if (Math.round((pick * a) / 255) === p) data[i + c] = pick;
			}
		}
	}
	return { data, width, height };
}
