import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildSchema, parse, validate } from "graphql";
import { ALL_OPERATIONS } from "./api";

// The server's schema as printed by `npm run schema` (api/graphql/schema.py).
// schema.pending.graphql: fields another branch adds, until it is merged.
const pending = resolve(__dirname, "../../schema.pending.graphql");
const sdl = [resolve(__dirname, "../../schema.graphql"), pending]
  .filter((path) => existsSync(path))
  .map((path) => readFileSync(path, "utf8"))
  .join("\n");
const schema = buildSchema(sdl);

describe("every operation the app sends", () => {
  for (const [name, operation] of Object.entries(ALL_OPERATIONS)) {
    it(`${name} is valid against the server's schema`, () => {
      const errors = validate(schema, parse(operation)).map((e) => e.message);
      expect(errors).toEqual([]);
    });
  }
});
