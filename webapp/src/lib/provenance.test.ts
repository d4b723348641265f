import { webcrypto } from "node:crypto";
import { pae, verifyEnvelope } from "./provenance";

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

async function signed(statement: unknown) {
  const keys = (await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await subtle.exportKey("spki", keys.publicKey));
  const pem = `-----BEGIN PUBLIC KEY-----\n${b64(spki)}\n-----END PUBLIC KEY-----\n`;
  const payload = new Uint8Array(new TextEncoder().encode(JSON.stringify(statement)));
  const type = "application/vnd.in-toto+json";
  const sig = new Uint8Array(await subtle.sign({ name: "Ed25519" }, keys.privateKey, pae(type, payload)));
  return { pem, envelope: { payloadType: type, payload: b64(payload), signatures: [{ keyid: "k", sig: b64(sig) }] } };
}

const statement = { subject: [{ name: "app.whl", digest: { sha256: "aa" } }] };

describe("provenance verification", () => {
  it("verifies the signature and the artifacts' digests", async () => {
    const { pem, envelope } = await signed(statement);
    const result = await verifyEnvelope(JSON.stringify(envelope), pem, [{ name: "app.whl", sha256: "aa" }, { name: "provenance.json", sha256: "x" }], subtle);
    expect(result.state).toBe("verified");
  });

  it("says which artifact changed", async () => {
    const { pem, envelope } = await signed(statement);
    const result = await verifyEnvelope(JSON.stringify(envelope), pem, [{ name: "app.whl", sha256: "bb" }], subtle);
    expect(result).toMatchObject({ state: "failed", message: expect.stringContaining("app.whl") });
  });

  it("refuses a statement changed after signing", async () => {
    const { pem, envelope } = await signed(statement);
    const tampered = { ...envelope, payload: b64(new TextEncoder().encode(JSON.stringify({ ...statement, extra: 1 }))) };
    const result = await verifyEnvelope(JSON.stringify(tampered), pem, [{ name: "app.whl", sha256: "aa" }], subtle);
    expect(result.state).toBe("failed");
  });
});
