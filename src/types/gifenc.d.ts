// gifenc 1.0 ships no types: the part of its API src/image/gif.ts uses.
declare module "gifenc" {
	export type Palette = number[][];
	export interface WriteFrameOptions {
		palette?: Palette;
		delay?: number;
		transparent?: boolean;
		transparentIndex?: number;
		/** -1 once, 0 forever, > 0 that many times (written with the first frame). */
		repeat?: number;
		dispose?: number;
	}
	export interface Encoder {
		writeFrame(index: Uint8Array, width: number, height: number, opts?: WriteFrameOptions): void;
		finish(): void;
		bytes(): Uint8Array;
	}
	export function GIFEncoder(opts?: { initialCapacity?: number; auto?: boolean }): Encoder;
	export function quantize(
		rgba: Uint8Array | Uint8ClampedArray,
		maxColors: number,
		opts?: { format?: "rgb565" | "rgb444" | "rgba4444" },
	): Palette;
	export function applyPalette(
		rgba: Uint8Array | Uint8ClampedArray,
		palette: Palette,
		format?: "rgb565" | "rgb444" | "rgba4444",
	): Uint8Array;
}
