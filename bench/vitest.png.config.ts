// bench/png-speed.test.ts only (see there): the test config with its include replaced.
import base from "../vitest.config";

const config = { ...base, test: { ...base.test, include: ["bench/png-speed.test.ts"] } };
export default config;
