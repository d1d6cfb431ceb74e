/**
 * Image quality metrics the bench scripts share (pixels as { data, width,
 * height, channels? }: RGB by default).
 */

/** Mean SSIM on luma over 8×8 windows with stride 4 (Wang et al. constants). */
export function ssim(a, b) {
	if (a.width !== b.width || a.height !== b.height) return Number.NaN;
	const luma = (img) => {
		const y = new Float64Array(img.width * img.height);
		for (let i = 0; i < y.length; i++) {
			const p = i * (img.channels ?? 3);
			y[i] = 0.299 * img.data[p] + 0.587 * img.data[p + 1] + 0.114 * img.data[p + 2];
		}
		return y;
	};
	const ya = luma(a);
	const yb = luma(b);
	const w = a.width;
	const C1 = (0.01 * 255) ** 2;
	const C2 = (0.03 * 255) ** 2;
	let total = 0;
	let n = 0;
	for (let y0 = 0; y0 + 8 <= a.height; y0 += 4) {
		for (let x0 = 0; x0 + 8 <= w; x0 += 4) {
			let sa = 0;
			let sb = 0;
			let saa = 0;
			let sbb = 0;
			let sab = 0;
			for (let y = y0; y < y0 + 8; y++) {
				for (let x = x0; x < x0 + 8; x++) {
					const p = ya[y * w + x];
					const q = yb[y * w + x];
					sa += p;
					sb += q;
					saa += p * p;
					sbb += q * q;
					sab += p * q;
				}
			}
			const ma = sa / 64;
			const mb = sb / 64;
			const va = saa / 64 - ma * ma;
			const vb = sbb / 64 - mb * mb;
			const cov = sab / 64 - ma * mb;
			total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
			n++;
		}
	}
	return total / n;
}
