/**
 * `compute(a, b)` worked out once per object `a` (held weakly: the memo goes
 * with it) and key `b`. For values derived from a config or a looked-up
 * upload that many requests ask for.
 */
export function memoized<A extends object, B, V>(compute: (a: A, b: B) => V): (a: A, b: B) => V {
	const memo = new WeakMap<A, Map<B, V>>();
	return (a, b) => {
		let byB = memo.get(a);
		if (byB === undefined) {
			byB = new Map();
			memo.set(a, byB);
		}
		if (!byB.has(b)) byB.set(b, compute(a, b));
		return byB.get(b) as V;
	};
}
