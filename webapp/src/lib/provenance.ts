/**
 * Checking a job's provenance in the browser: the DSSE envelope's Ed25519 signature over
 * PAE(payloadType, payload) with the server's public key, and each artifact's sha256
 * against the statement's subjects (what `danube provenance verify --job` checks).
 */
import { transport } from "./transport";

export const PROVENANCE_ARTIFACT = "provenance.json";
const PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface Verification {
  /** verified: signature and every digest match; failed: something does not; partial: digests match, the signature was not checked. */
  state: "verified" | "failed" | "partial";
  message: string;
}

interface Envelope {
  payloadType: string;
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

const encoder = new TextEncoder();

function b64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function pae(payloadType: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const type = encoder.encode(payloadType);
  const head = encoder.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  return b64(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
}

export async function verifyEnvelope(
  envelopeText: string,
  publicKeyPem: string,
  artifacts: readonly { name: string; sha256: string }[],
  subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle,
): Promise<Verification> {
  let envelope: Envelope;
  let statement: { subject?: { name: string; digest?: { sha256?: string } }[] };
  let payload: Uint8Array<ArrayBuffer>;
  try {
    envelope = JSON.parse(envelopeText) as Envelope;
    payload = b64(envelope.payload);
    statement = JSON.parse(new TextDecoder().decode(payload)) as typeof statement;
  } catch (e) {
    return { state: "failed", message: `not a DSSE envelope: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (envelope.payloadType !== PAYLOAD_TYPE) return { state: "failed", message: `payloadType is ${envelope.payloadType}, not ${PAYLOAD_TYPE}` };
  for (const artifact of artifacts) {
    if (artifact.name === PROVENANCE_ARTIFACT) continue;
    const subject = statement.subject?.find((s) => s.name === artifact.name);
    if (!subject) return { state: "failed", message: `artifact ${artifact.name} is not in the statement` };
    if (subject.digest?.sha256 !== artifact.sha256) {
      return { state: "failed", message: `artifact ${artifact.name}: sha256 ${artifact.sha256} differs from the statement's ${subject.digest?.sha256 ?? "(none)"}` };
    }
  }
  let key: CryptoKey;
  try {
    if (!subtle) throw new Error("no WebCrypto");
    key = await subtle.importKey("spki", pemToDer(publicKeyPem), { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return { state: "partial", message: "Artifact digests match the statement; this browser cannot check Ed25519 signatures (use danube provenance verify)." };
  }
  const message = pae(envelope.payloadType, payload);
  for (const signature of envelope.signatures ?? []) {
    if (await subtle.verify({ name: "Ed25519" }, key, b64(signature.sig), message)) {
      return { state: "verified", message: `Signed by this server's key; ${artifacts.filter((a) => a.name !== PROVENANCE_ARTIFACT).length} artifact digest(s) match.` };
    }
  }
  return { state: "failed", message: "the signature does not match this server's key: the statement was changed after signing, or signed by another key" };
}

export const PUBLIC_KEY_PATH = "/api/v1/provenance/public-key";

/** Fetch a job's provenance and the server's key, and check them against the job's artifacts. */
export async function checkProvenance(downloadUrl: string, artifacts: readonly { name: string; sha256: string }[]): Promise<Verification> {
  const [envelope, key] = await Promise.all([transport().getText(downloadUrl), transport().getText(PUBLIC_KEY_PATH)]);
  return verifyEnvelope(envelope, key, artifacts);
}
