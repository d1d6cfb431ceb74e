// Type of a `.wasm` file imported as a module. tsconfig `paths` points the
// squoosh resize kernel here, because its package ships a `.wasm.d.ts` that
// describes the instance's exports rather than the module import workerd gives.
declare const module: WebAssembly.Module;
export default module;
