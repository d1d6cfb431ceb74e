/**
 * Run `fn` over `items` with at most `limit` calls in flight, results in the
 * items' order. For fan-outs (purge's R2 lookups, cache deletes, zone calls)
 * that must not open thousands of subrequests at once.
 */
export async function mapLimited<T, R>(
	items: readonly T[],
	limit: number,
	fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			results[i] = await fn(items[i] as T, i);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}
