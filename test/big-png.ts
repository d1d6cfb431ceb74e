/**
 * A big PNG made at test time without ever holding its pixels: rows of a
 * gradient, Sub-filtered, deflated by the runtime as they are made. An
 * 8640x5760 one (49.8 MP, 150 MB of RGB) comes out at about 1 MB.
 */
import { chunk } from "../src/image/png-encode";
import { concat } from "../src/util/bytes";

/** The gradient's colour at (x, y): what a resize of it must stay close to. */
export function gradientAt(x: number, y: number, width: number, height: number): number[] {
	return [
		Math.floor((x * 255) / (width - 1)),
		Math.floor((y * 255) / (height - 1)),
		((x >> 5) + (y >> 5)) & 255,
	];
}

function row(y: number, width: number, height: number): Uint8Array {
	const out = new Uint8Array(1 + width * 3);
	out[0] = 1; // Sub
	let prev = [0, 0, 0];
	for (let x = 0; x < width; x++) {
		const px = gradientAt(x, y, width, height);
		for (let c = 0; c < 3; c++) out[1 + x * 3 + c] = ((px[c] ?? 0) - (prev[c] ?? 0)) & 255;
		prev = px;
	}
	return out;
}

export async function gradientPng(width: number, height: number): Promise<Uint8Array> {
	const stream = new CompressionStream("deflate");
	const writer = stream.writable.getWriter();
	const collected = new Response(stream.readable).arrayBuffer();
	for (let y = 0; y < height; y++) await writer.write(row(y, width, height));
	await writer.close();
	const idat = new Uint8Array(await collected);
	const ihdr = new Uint8Array(13);
	const view = new DataView(ihdr.buffer);
	view.setUint32(0, width);
	view.setUint32(4, height);
	ihdr[8] = 8;
	ihdr[9] = 2;
	return concat([
		Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk("IHDR", ihdr),
		chunk("IDAT", idat),
		chunk("IEND", new Uint8Array(0)),
	]);
}
