import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildSchema, parse, validate } from "graphql";
import { TOKEN_OPERATIONS } from "./tokens";

// The server's schema as printed by `npm run schema` (api/graphql/schema.py).
const schema = buildSchema(readFileSync(resolve(__dirname, "../../../schema.graphql"), "utf8"));

describe("the token operations", () => {
  for (const [name, operation] of Object.entries(TOKEN_OPERATIONS)) {
    it(`${name} is valid against the server's schema`, () => {
      expect(validate(schema, parse(operation)).map((e) => e.message)).toEqual([]);
    });
  }
});
